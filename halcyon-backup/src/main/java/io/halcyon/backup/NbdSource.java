package io.halcyon.backup;

import io.halcyon.backup.nbd.Extent;
import io.halcyon.backup.nbd.NbdClient;
import io.halcyon.backup.nbd.NbdException;

import java.io.IOException;
import java.util.List;

import static java.util.Objects.requireNonNull;

/** A {@link BlockSource} over an NBD export: qemu-nbd for a volume at rest, QEMU's own server for a running guest. */
public final class NbdSource implements BlockSource {
    public static final String ALLOCATION = "base:allocation";

    private final NbdClient nbd;
    private final String bitmapContext;
    private final AutoCloseable owner;
    private final Connector more;

    /** Opens one more connection to the same export, for a reader of its own. */
    public interface Connector {
        NbdClient connect() throws IOException;
    }

    /**
     * @param bitmap the dirty bitmap's name as exported, or null
     * @param owner  closed after the connection (the qemu-nbd process), or null
     */
    public NbdSource(NbdClient nbd, String bitmap, AutoCloseable owner, Connector more) {
        this.nbd = requireNonNull(nbd, "nbd is null");
        this.bitmapContext = bitmap == null ? null : "qemu:dirty-bitmap:" + bitmap;
        this.owner = owner;
        this.more = more;
    }

    @Override
    public Reader reader() throws IOException {
        if (more == null) {
            return BlockSource.super.reader();
        }
        NbdClient c = more.connect();
        return new Reader() {
            @Override
            public long read(long offset, byte[] buf, int off, int len) throws IOException {
                return readAll(c, offset, buf, off, len);
            }

            @Override
            public void close() throws IOException {
                c.close();
            }
        };
    }

    public static List<String> contexts(String bitmap) {
        return bitmap == null ? List.of(ALLOCATION) : List.of(ALLOCATION, "qemu:dirty-bitmap:" + bitmap);
    }

    @Override
    public long size() {
        return nbd.size();
    }

    @Override
    public List<Extent> allocation(long offset, long length) throws IOException {
        return status(ALLOCATION, offset, length);
    }

    @Override
    public boolean hasBitmap() {
        return bitmapContext != null;
    }

    @Override
    public List<Extent> dirty(long offset, long length) throws IOException {
        if (bitmapContext == null) {
            throw new IllegalStateException("no dirty bitmap on this source");
        }
        return status(bitmapContext, offset, length);
    }

    private List<Extent> status(String context, long offset, long length) throws IOException {
        List<Extent> e = nbd.blockStatus(offset, length).get(context);
        if (e == null || e.isEmpty()) {
            throw new NbdException("no block status for " + context + " at " + offset);
        }
        return e;
    }

    @Override
    public long read(long offset, byte[] buf, int off, int len) throws IOException {
        return readAll(nbd, offset, buf, off, len);
    }

    private static long readAll(NbdClient c, long offset, byte[] buf, int off, int len) throws IOException {
        long data = 0;
        for (int done = 0; done < len; ) {
            int n = Math.min(len - done, NbdClient.MAX_REQUEST);
            data += c.read(offset + done, buf, off + done, n);
            done += n;
        }
        return data;
    }

    @Override
    public void close() throws IOException {
        try {
            nbd.close();
        } finally {
            if (owner != null) {
                try {
                    owner.close();
                } catch (IOException | RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
        }
    }
}
