package io.halcyon.backup;

import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.ChunkCodec;
import io.halcyon.backup.repo.CorruptChunkException;
import io.halcyon.backup.repo.Repository;
import io.halcyon.backup.repo.RepositoryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * Writes a backup onto a zero-filled target (a new image): twice {@code threads} workers (one
 * unpacks while another waits for its write) each read a chunk, check it against its id, unpack
 * it and write it (over a connection of their own where the target takes several); holes and
 * all-zero runs are not written, so the target stays sparse. A chunk that is missing or does not
 * match its id stops the restore, naming the backup and the chunk.
 */
public final class RestoreRunner {
    private static final Logger log = LoggerFactory.getLogger(RestoreRunner.class);
    /** Zero runs this long or longer are left unwritten (the qcow2 cluster size). */
    static final int SPARSE_BLOCK = 64 * 1024;

    private final Repository repo;
    private final int workers;

    public record Result(long bytesWritten, long bytesSkipped, long chunks, long millis) {
    }

    public RestoreRunner(Repository repo, int threads) {
        this.repo = requireNonNull(repo, "repo is null");
        this.workers = 2 * Math.max(1, threads);
    }

    /** How many connections a target serving a restore of {@code threads} threads should accept. */
    public static int connections(int threads) {
        return 2 * Math.max(1, threads) + 1;
    }

    public Result run(BackupIndex index, BlockSink target) throws IOException {
        long t0 = System.nanoTime();
        if (target.size() < index.size()) {
            throw new RepositoryException("the target holds " + target.size() + " bytes, backup " + index.id() + " needs " + index.size());
        }
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "restore-" + index.id());
            t.setDaemon(true);
            return t;
        });
        ThreadLocal<ChunkCodec> codecs = ThreadLocal.withInitial(repo::codec);
        ThreadLocal<byte[]> buffers = ThreadLocal.withInitial(() -> new byte[index.chunkSize()]);
        var opened = new ConcurrentLinkedQueue<BlockSink.Connection>();
        ThreadLocal<BlockSink.Connection> connections = ThreadLocal.withInitial(() -> {
            try {
                BlockSink.Connection c = target.connection();
                opened.add(c);
                return c;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        var window = new ArrayDeque<Future<Long>>();
        long written = 0;
        long chunks = 0;
        boolean ok = false;
        try {
            for (int slot = 0; slot < index.chunks().size(); slot++) {
                String id = index.chunks().get(slot);
                if (id == null) {
                    continue;
                }
                int len = index.slotLength(slot);
                long base = (long) slot * index.chunkSize();
                window.add(pool.submit(() -> {
                    byte[] stored = repo.readStored(id);
                    byte[] plain = buffers.get();
                    int got = codecs.get().decode(id, stored, stored.length, plain);
                    if (got != len) {
                        throw new CorruptChunkException(id, "holds " + got + " bytes where the backup needs " + len);
                    }
                    return writeSparse(connections.get(), base, plain, len);
                }));
                chunks++;
                while (window.size() > workers * 2) {
                    written += take(window.poll(), index);
                }
            }
            while (!window.isEmpty()) {
                written += take(window.poll(), index);
            }
            ok = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("restore of backup " + index.id() + " interrupted");
        } finally {
            pool.shutdownNow();
            try {
                pool.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            IOException failed = null;
            for (BlockSink.Connection c : opened) {
                try {
                    c.close();
                } catch (IOException e) {
                    failed = e;
                }
            }
            if (ok && failed != null) {
                throw failed;
            }
        }
        target.flush();
        var r = new Result(written, index.size() - written, chunks, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        log.info("event=restore_done backup={} written={} skipped={} chunks={} ms={}", index.id(), r.bytesWritten(), r.bytesSkipped(),
                r.chunks(), r.millis());
        return r;
    }

    private static long take(Future<Long> f, BackupIndex index) throws InterruptedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof CorruptChunkException c) {
                throw new RestoreFailedException(index.id(), c);
            }
            throw new RepositoryException("restore of backup " + index.id() + " failed: " + e.getCause().getMessage(), e.getCause());
        }
    }

    private static final byte[] ZEROS = new byte[SPARSE_BLOCK];

    /** Writes the non-zero runs of a chunk, in runs as long as possible. */
    static long writeSparse(BlockSink.Connection target, long base, byte[] plain, int len) throws IOException {
        long written = 0;
        int runStart = -1;
        for (int at = 0; at < len; at += SPARSE_BLOCK) {
            int n = Math.min(SPARSE_BLOCK, len - at);
            boolean zero = Arrays.mismatch(plain, at, at + n, ZEROS, 0, n) < 0;
            if (!zero && runStart < 0) {
                runStart = at;
            }
            if (zero && runStart >= 0) {
                target.write(base + runStart, plain, runStart, at - runStart);
                written += at - runStart;
                runStart = -1;
            }
        }
        if (runStart >= 0) {
            target.write(base + runStart, plain, runStart, len - runStart);
            written += len - runStart;
        }
        return written;
    }

    /** A restore stopped by a damaged chunk. */
    public static final class RestoreFailedException extends RepositoryException {
        private final String backupId;
        private final String chunkId;

        RestoreFailedException(String backupId, CorruptChunkException cause) {
            super("restore of backup " + backupId + " failed: " + cause.getMessage(), cause);
            this.backupId = backupId;
            this.chunkId = cause.chunkId();
        }

        public String backupId() {
            return backupId;
        }

        public String chunkId() {
            return chunkId;
        }
    }
}
