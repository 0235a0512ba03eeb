package io.halcyon.backup;

import io.halcyon.backup.nbd.NbdClient;
import io.halcyon.backup.nbd.QemuNbd;

import java.io.IOException;

/** Where a restore writes: a zero-filled target at least as large as the backup. */
public interface BlockSink {
    long size();

    void write(long offset, byte[] buf, int off, int len) throws IOException;

    void flush() throws IOException;

    /**
     * A sink for one more thread: targets that take several connections return a new one (writes
     * then run in parallel; each is flushed before the restore ends); the default shares this one.
     */
    default Connection connection() throws IOException {
        BlockSink self = this;
        return new Connection() {
            @Override
            public void write(long offset, byte[] buf, int off, int len) throws IOException {
                synchronized (self) {
                    self.write(offset, buf, off, len);
                }
            }

            @Override
            public void close() throws IOException {
                synchronized (self) {
                    self.flush();
                }
            }
        };
    }

    /** Writes for one thread; closing flushes. */
    interface Connection extends AutoCloseable {
        void write(long offset, byte[] buf, int off, int len) throws IOException;

        @Override
        void close() throws IOException;
    }

    /** A qemu-nbd export: every thread gets a connection of its own. */
    static BlockSink of(NbdClient nbd, QemuNbd server) {
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

            @Override
            public Connection connection() throws IOException {
                NbdClient c = server.connect(java.util.List.of());
                return new Connection() {
                    @Override
                    public void write(long offset, byte[] buf, int off, int len) throws IOException {
                        c.write(offset, buf, off, len);
                    }

                    @Override
                    public void close() throws IOException {
                        try {
                            c.flush();
                        } finally {
                            c.close();
                        }
                    }
                };
            }
        };
    }
}
