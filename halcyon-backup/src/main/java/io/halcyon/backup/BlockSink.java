package io.halcyon.backup;

import java.io.IOException;

/** Where a restore writes: a zero-filled target at least as large as the backup. */
public interface BlockSink {
    long size();

    void write(long offset, byte[] buf, int off, int len) throws IOException;

    void flush() throws IOException;

    static BlockSink of(io.halcyon.backup.nbd.NbdClient nbd) {
        return new BlockSink() {
            @Override
            public long size() {
                return nbd.size();
            }

            @Override
            public void write(long offset, byte[] buf, int off, int len) throws IOException {
                nbd.write(offset, buf, off, len);
            }

            @Override
            public void flush() throws IOException {
                nbd.flush();
            }
        };
    }
}
