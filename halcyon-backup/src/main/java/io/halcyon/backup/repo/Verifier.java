package io.halcyon.backup.repo;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * Re-reads and re-hashes every chunk that the chosen backups name (each once), and reads every
 * index: a damaged chunk is reported with every backup that uses it.
 */
public final class Verifier {
    private final Repository repo;
    private final int threads;

    /**
     * @param damagedIndexes backup id → why its index cannot be read
     * @param badChunks      chunk id → what is wrong with it
     * @param usedBy         bad chunk id → the backups naming it
     */
    public record Result(int backups, long chunks, long bytes, Map<String, String> damagedIndexes, Map<String, String> badChunks,
                         Map<String, Set<String>> usedBy) {
        public boolean ok() {
            return damagedIndexes.isEmpty() && badChunks.isEmpty();
        }
    }

    public Verifier(Repository repo, int threads) {
        this.repo = requireNonNull(repo, "repo is null");
        this.threads = Math.max(1, threads);
    }

    /** @param backupIds the backups to verify; empty for all of them */
    public Result verify(Collection<String> backupIds) {
        List<String> ids = backupIds.isEmpty() ? repo.backupIds() : List.copyOf(backupIds);
        var damaged = new TreeMap<String, String>();
        var users = new LinkedHashMap<String, Set<String>>();
        for (String id : ids) {
            try {
                for (String c : repo.readIndex(id).chunkIds()) {
                    users.computeIfAbsent(c, k -> new TreeSet<>()).add(id);
                }
            } catch (NoSuchBackupException e) {
                if (!backupIds.isEmpty()) {
                    throw e;
                }
            } catch (RepositoryException e) {
                damaged.put(id, e.getMessage());
            }
        }
        var bad = new TreeMap<String, String>();
        var bytes = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "backup-verify");
            t.setDaemon(true);
            return t;
        });
        try {
            var chunks = new ArrayList<>(users.keySet());
            var futures = new ArrayList<Future<Map<String, String>>>();
            int per = Math.max(1, (chunks.size() + threads - 1) / threads);
            for (int i = 0; i < chunks.size(); i += per) {
                List<String> part = chunks.subList(i, Math.min(chunks.size(), i + per));
                futures.add(pool.submit(() -> {
                    ChunkCodec codec = repo.codec();
                    byte[] plain = new byte[repo.chunkSize()];
                    var found = new TreeMap<String, String>();
                    for (String c : part) {
                        try {
                            byte[] stored = repo.readStored(c);
                            bytes.addAndGet(codec.decode(c, stored, stored.length, plain));
                        } catch (CorruptChunkException e) {
                            found.put(c, e.getMessage());
                        }
                    }
                    return found;
                }));
            }
            for (var f : futures) {
                bad.putAll(f.get());
            }
        } catch (Exception e) {
            throw new RepositoryException("verify of " + repo.dir() + " failed: " + e.getMessage(), e);
        } finally {
            pool.shutdownNow();
        }
        var usedBy = new TreeMap<String, Set<String>>();
        bad.keySet().forEach(c -> usedBy.put(c, users.get(c)));
        return new Result(ids.size(), users.size(), bytes.get(), damaged, bad, usedBy);
    }
}
