package io.halcyon.backup;

import io.halcyon.backup.nbd.Extent;

import java.io.IOException;
import java.util.List;

/** A volume as a backup reads it: its size, which bytes hold data, which changed, and the bytes. */
public interface BlockSource extends AutoCloseable {
    long size();

    /** Allocation from {@code offset}: at least one extent, flags {@link Extent#HOLE} and {@link Extent#ZERO}. */
    List<Extent> allocation(long offset, long length) throws IOException;

    /** Whether {@link #dirty} can answer: the source carries a dirty bitmap. */
    boolean hasBitmap();

    /** What the changes come from, as a backup's mode names it. */
    default String changesMode() {
        return io.halcyon.backup.repo.BackupIndex.BITMAP;
    }

    /** Changed bytes from {@code offset}, flag {@link Extent#DIRTY}: at least one extent. */
    List<Extent> dirty(long offset, long length) throws IOException;

    /** Reads into {@code buf} (holes as zeros); returns the bytes that were read as data. */
    long read(long offset, byte[] buf, int off, int len) throws IOException;

    /**
     * A reader for one more thread: sources that can serve several connections at once return a
     * new one (reads then run in parallel); the default shares this source, one read at a time.
     */
    default Reader reader() throws IOException {
        return new Reader() {
            @Override
            public long read(long offset, byte[] buf, int off, int len) throws IOException {
                synchronized (BlockSource.this) {
                    return BlockSource.this.read(offset, buf, off, len);
                }
            }

            @Override
            public void close() {
            }
        };
    }

    /** Reads for one thread. */
    interface Reader extends AutoCloseable {
        long read(long offset, byte[] buf, int off, int len) throws IOException;

        @Override
        void close() throws IOException;
    }

    @Override
    void close() throws IOException;
}
