package io.halcyon.backup;

import io.halcyon.backup.nbd.Extent;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/** A sparse volume in memory for unit tests: 64 KiB blocks, allocation and a dirty bitmap kept as QEMU keeps them. */
final class MemoryVolume implements BlockSource, BlockSink {
    static final int BLOCK = 64 * 1024;

    private final long size;
    private final TreeMap<Long, byte[]> blocks = new TreeMap<>();
    private final Set<Long> dirty = new HashSet<>();
    private boolean bitmap;
    long bytesRead;

    MemoryVolume(long size) {
        this.size = size;
    }

    MemoryVolume withBitmap(boolean on) {
        bitmap = on;
        return this;
    }

    void clearDirty() {
        dirty.clear();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void write(long offset, byte[] buf, int off, int len) {
        for (int i = 0; i < len; i++) {
            long at = offset + i;
            long b = at / BLOCK;
            blocks.computeIfAbsent(b, k -> new byte[BLOCK])[(int) (at % BLOCK)] = buf[off + i];
            dirty.add(b);
        }
    }

    void write(long offset, byte[] data) {
        write(offset, data, 0, data.length);
    }

    @Override
    public void flush() {
    }

    @Override
    public List<Extent> allocation(long offset, long length) {
        return runs(offset, length, b -> blocks.containsKey(b) ? 0 : Extent.HOLE | Extent.ZERO);
    }

    @Override
    public boolean hasBitmap() {
        return bitmap;
    }

    @Override
    public List<Extent> dirty(long offset, long length) {
        return runs(offset, length, b -> dirty.contains(b) ? Extent.DIRTY : 0);
    }

    private List<Extent> runs(long offset, long length, java.util.function.LongToIntFunction flagsOf) {
        var out = new ArrayList<Extent>();
        long end = Math.min(size, offset + length);
        long at = offset;
        while (at < end) {
            int f = flagsOf.applyAsInt(at / BLOCK);
            long next = Math.min(end, (at / BLOCK + 1) * BLOCK);
            if (!out.isEmpty() && out.get(out.size() - 1).flags() == f) {
                Extent last = out.remove(out.size() - 1);
                out.add(new Extent(last.offset(), next - last.offset(), f));
            } else {
                out.add(new Extent(at, next - at, f));
            }
            at = next;
        }
        return out;
    }

    @Override
    public long read(long offset, byte[] buf, int off, int len) {
        long data = 0;
        for (int i = 0; i < len; i++) {
            long at = offset + i;
            byte[] b = blocks.get(at / BLOCK);
            buf[off + i] = b == null ? 0 : b[(int) (at % BLOCK)];
            data += b == null ? 0 : 1;
        }
        bytesRead += data;
        return data;
    }

    long allocatedBytes() {
        return (long) blocks.size() * BLOCK;
    }

    String sha256() throws Exception {
        var md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[BLOCK];
        for (long at = 0; at < size; at += BLOCK) {
            int n = (int) Math.min(BLOCK, size - at);
            byte[] b = blocks.get(at / BLOCK);
            md.update(b == null ? buf : b, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Override
    public void close() {
    }
}
