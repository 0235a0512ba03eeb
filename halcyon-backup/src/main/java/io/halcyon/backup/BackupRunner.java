package io.halcyon.backup;

import io.halcyon.backup.nbd.Extent;
import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.ChunkCodec;
import io.halcyon.backup.repo.Repository;
import io.halcyon.backup.repo.RepositoryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

import static java.util.Objects.requireNonNull;

/**
 * Backs up one volume into a repository, reading only what it must: nothing of a hole or of a
 * run the volume reports as zeros; with a dirty bitmap, only the chunks that changed since the
 * parent backup; without one, every allocated chunk, compared by hash with what the repository
 * holds. The calling thread plans; twice {@code threads} workers each read a chunk (over a
 * connection of their own where the source offers several), hash, compress, encrypt and store it
 * (fsynced before it is named): twice as many as the CPUs they are meant to use, so that one
 * computes while another waits for its read or its fsync.
 */
public final class BackupRunner {
    private static final Logger log = LoggerFactory.getLogger(BackupRunner.class);
    private static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final Repository repo;
    private final int workers;

    /**
     * What to back up.
     *
     * @param parent the previous backup of the same source; null for a full backup
     * @param note   why the mode is what it is (e.g. why no bitmap could be used); may be null
     */
    public record Request(String backupId, String source, Map<String, String> labels, BackupIndex parent, String note,
                          LongConsumer progress) {
        public Request {
            requireNonNull(backupId, "backupId is null");
            requireNonNull(source, "source is null");
            labels = labels == null ? Map.of() : labels;
            progress = progress == null ? b -> { } : progress;
        }
    }

    public BackupRunner(Repository repo, int threads) {
        this.repo = requireNonNull(repo, "repo is null");
        this.workers = 2 * Math.max(1, threads);
    }

    /** How many connections a source serving a runner of {@code threads} threads should accept: one per worker and the planner's. */
    public static int connections(int threads) {
        return 2 * Math.max(1, threads) + 1;
    }

    public BackupIndex run(BlockSource src, Request req) throws IOException {
        long t0 = System.nanoTime();
        int cs = repo.chunkSize();
        long size = src.size();
        int slots = BackupIndex.slots(size, cs);
        BackupIndex parent = req.parent();
        if (parent != null && (parent.chunkSize() != cs || parent.size() != size)) {
            // a resized volume or another chunk size: the parent's slots say nothing about ours
            parent = null;
        }
        boolean bitmap = parent != null && src.hasBitmap();
        String mode = parent == null ? BackupIndex.FULL : bitmap ? src.changesMode() : BackupIndex.HASH_COMPARE;
        String note = req.note();
        if (req.parent() != null && parent == null) {
            note = "the volume's size changed since backup " + req.parent().id() + ": read as a full backup";
        }
        long[][] data = dataRuns(src, size);
        boolean[] dirty = bitmap ? dirtySlots(src, size, cs, slots) : null;

        var chunks = new String[slots];
        var read = new AtomicLong();
        var stored = new AtomicLong();
        var fresh = new AtomicLong();
        var reused = new AtomicLong();
        try (Repository.Writer writer = repo.startWriter(req.backupId())) {
            BlockingQueue<byte[]> buffers = new ArrayBlockingQueue<>(workers + 2);
            for (int i = 0; i < workers + 2; i++) {
                buffers.add(new byte[cs]);
            }
            ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
                Thread t = new Thread(r, "backup-" + req.backupId());
                t.setDaemon(true);
                return t;
            });
            ThreadLocal<ChunkCodec> codecs = ThreadLocal.withInitial(repo::codec);
            // each worker reads its own chunks, over its own connection where the source has several
            var opened = new java.util.concurrent.ConcurrentLinkedQueue<BlockSource.Reader>();
            ThreadLocal<BlockSource.Reader> readers = ThreadLocal.withInitial(() -> {
                try {
                    BlockSource.Reader r = src.reader();
                    opened.add(r);
                    return r;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            var pending = new ArrayList<Future<?>>();
            long lastRefresh = System.nanoTime();
            int run = 0;
            try {
                for (int i = 0; i < slots; i++) {
                    long start = (long) i * cs;
                    int len = (int) Math.min(cs, size - start);
                    while (run < data.length && data[run][0] + data[run][1] <= start) {
                        run++;
                    }
                    boolean hasData = run < data.length && data[run][0] < start + len;
                    if (!hasData) {
                        chunks[i] = null;
                        continue;
                    }
                    if (bitmap && !dirty[i] && (parent.chunks().get(i) == null || repo.reuse(parent.chunks().get(i), writer.start()))) {
                        chunks[i] = parent.chunks().get(i);
                        if (chunks[i] != null) {
                            reused.incrementAndGet();
                        }
                        continue;
                    }
                    byte[] buf = buffers.take();
                    int slot = i;
                    int firstRun = run;
                    pending.add(pool.submit(() -> {
                        try {
                            Arrays.fill(buf, 0, len, (byte) 0);
                            BlockSource.Reader reader = readers.get();
                            for (int r = firstRun; r < data.length && data[r][0] < start + len; r++) {
                                long from = Math.max(start, data[r][0]);
                                long to = Math.min(start + len, data[r][0] + data[r][1]);
                                read.addAndGet(reader.read(from, buf, (int) (from - start), (int) (to - from)));
                            }
                            if (isZero(buf, len)) {
                                chunks[slot] = null;
                                return null;
                            }
                            ChunkCodec codec = codecs.get();
                            String id = codec.id(buf, len);
                            chunks[slot] = id;
                            if (repo.reuse(id, writer.start())) {
                                reused.incrementAndGet();
                                return null;
                            }
                            ByteBuffer enc = codec.encode(id, buf, len);
                            long n = repo.insert(id, enc, writer);
                            if (n > 0) {
                                fresh.incrementAndGet();
                                stored.addAndGet(n);
                            } else {
                                reused.incrementAndGet();
                            }
                            return null;
                        } finally {
                            buffers.add(buf);
                        }
                    }));
                    req.progress().accept(start + len);
                    if (System.nanoTime() - lastRefresh > REFRESH_NANOS) {
                        writer.refresh();
                        lastRefresh = System.nanoTime();
                    }
                    pending.removeIf(f -> f.isDone() && done(f));
                }
                for (Future<?> f : pending) {
                    get(f);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("backup " + req.backupId() + " interrupted");
            } finally {
                pool.shutdownNow();
                try {
                    pool.awaitTermination(1, TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                for (BlockSource.Reader r : opened) {
                    r.close();
                }
            }
            long zeros = Arrays.stream(chunks).filter(c -> c == null).count();
            if (!writer.alive()) {
                throw new RepositoryException("backup " + req.backupId() + " was taken for a crashed one by a garbage collection: "
                        + "some of its chunks may be gone; nothing was recorded");
            }
            var stats = new BackupIndex.Stats(read.get(), stored.get(), size - read.get(), fresh.get(), reused.get(), zeros,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            var index = new BackupIndex(req.backupId(), req.source(), req.labels(), Instant.now(), req.parent() == null ? null
                    : req.parent().id(), size, cs, mode, note, stats, Arrays.asList(chunks));
            writer.sync();
            repo.writeIndex(index);
            log.info("event=backup_done backup={} source={} mode={} size={} read={} stored={} skipped={} new={} reused={} zero={} ms={}",
                    index.id(), index.source(), mode, size, stats.bytesRead(), stats.bytesStored(), stats.bytesSkipped(),
                    stats.chunksNew(), stats.chunksReused(), stats.chunksZero(), stats.millis());
            return index;
        }
    }

    private static boolean done(Future<?> f) {
        try {
            return get(f);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RepositoryException("interrupted");
        }
    }

    private static boolean get(Future<?> f) throws InterruptedException {
        try {
            f.get();
            return true;
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new RepositoryException(c.getMessage(), c);
        }
    }

    /** Runs of bytes that may hold data ({@code [offset, length]}, in order): neither holes nor reported zeros. */
    static long[][] dataRuns(BlockSource src, long size) throws IOException {
        var runs = new ArrayList<long[]>();
        long at = 0;
        while (at < size) {
            List<Extent> ext = src.allocation(at, size - at);
            for (Extent e : ext) {
                long len = Math.min(e.length(), size - e.offset());
                if (len <= 0) {
                    break;
                }
                if (!e.has(Extent.ZERO) && !e.has(Extent.HOLE)) {
                    if (!runs.isEmpty() && runs.get(runs.size() - 1)[0] + runs.get(runs.size() - 1)[1] == e.offset()) {
                        runs.get(runs.size() - 1)[1] += len;
                    } else {
                        runs.add(new long[]{e.offset(), len});
                    }
                }
                at = e.offset() + len;
            }
        }
        return runs.toArray(new long[0][]);
    }

    static boolean[] dirtySlots(BlockSource src, long size, int cs, int slots) throws IOException {
        var dirty = new boolean[slots];
        long at = 0;
        while (at < size) {
            for (Extent e : src.dirty(at, size - at)) {
                long end = Math.min(e.end(), size);
                if (e.has(Extent.DIRTY) && end > e.offset()) {
                    for (long s = e.offset() / cs; s <= (end - 1) / cs; s++) {
                        dirty[(int) s] = true;
                    }
                }
                at = end;
            }
        }
        return dirty;
    }

    private static final byte[] ZEROS = new byte[64 * 1024];

    static boolean isZero(byte[] b, int len) {
        for (int i = 0; i < len; i += ZEROS.length) {
            int n = Math.min(ZEROS.length, len - i);
            if (Arrays.mismatch(b, i, i + n, ZEROS, 0, n) >= 0) {
                return false;
            }
        }
        return true;
    }
}
