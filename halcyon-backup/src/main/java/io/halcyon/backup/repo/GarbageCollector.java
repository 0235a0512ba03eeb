package io.halcyon.backup.repo;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Removes chunks that no index names, safely while backups run.
 *
 * <p>Why it cannot remove a chunk a backup still needs: a backup registers itself before it
 * touches any chunk, and every chunk it stores or reuses carries a time stamp no older than its
 * start. The collector marks what every index names, then deletes only unnamed chunks older than
 * its cutoff: the earlier of its own start and the start of the oldest backup still running, less
 * a grace period for clocks that disagree (hosts writing to one NFS directory). Checking a chunk's
 * time stamp and deleting it happen under the shard's exclusive lock, while a backup reuses a
 * chunk under the shared lock, so a chunk cannot be reused between the check and the deletion. A
 * backup whose process is provably gone (same boot and PID namespace, no such process) or that has
 * not refreshed its registration for {@code staleAfter} is taken for crashed: its registration is
 * removed and, if it was only asleep, it learns so when it next refreshes, and fails.
 * A collection killed at any point leaves every index whole: it only ever deletes unnamed chunks.
 */
public final class GarbageCollector {
    private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);

    private final Repository repo;
    private final Duration grace;
    private final Duration staleAfter;

    public record Result(long chunksKept, long chunksRemoved, long bytesFreed, long temporaryRemoved, long staleWriters) {
    }

    public GarbageCollector(Repository repo, Duration grace, Duration staleAfter) {
        this.repo = requireNonNull(repo, "repo is null");
        this.grace = requireNonNull(grace, "grace is null");
        this.staleAfter = requireNonNull(staleAfter, "staleAfter is null");
    }

    public Result run() {
        try {
            FileTime now = fileSystemNow();
            long cutoff = now.toMillis();
            long stale = 0;
            try (DirectoryStream<Path> s = Files.newDirectoryStream(repo.dir().resolve("writers"))) {
                for (Path w : s) {
                    if (w.getFileName().toString().startsWith(".")) {
                        continue;
                    }
                    FileTime t;
                    try {
                        t = Files.getLastModifiedTime(w);
                    } catch (NoSuchFileException e) {
                        continue;
                    }
                    String[] record = read(w);
                    boolean dead = record.length > 1 && WriterProcess.parse(record[1]).map(WriterProcess::provablyGone).orElse(false);
                    if (dead || now.toMillis() - t.toMillis() > staleAfter.toMillis()) {
                        Files.deleteIfExists(w);
                        stale++;
                        log.warn("event=backup_writer_stale writer={} last_seen={} process_gone={}", w.getFileName(), t, dead);
                        continue;
                    }
                    // refreshes raise the time stamp: the writer's start is what it wrote down when made
                    cutoff = Math.min(cutoff, startOf(record, t));
                }
            }
            cutoff -= grace.toMillis();
            Set<String> named = new HashSet<>();
            for (String id : repo.backupIds()) {
                try {
                    named.addAll(repo.readIndex(id).chunkIds());
                } catch (NoSuchBackupException e) {
                    // deleted since listed: its chunks may go
                }
            }
            long kept = 0;
            long removed = 0;
            long freed = 0;
            long tmp = 0;
            for (int shard = 0; shard < 256; shard++) {
                Path dir = repo.dir().resolve("chunks").resolve(String.format("%02x", shard));
                try (var l = repo.locks().exclusive(shard); DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
                    for (Path c : s) {
                        String name = c.getFileName().toString();
                        long mtime = Files.getLastModifiedTime(c).toMillis();
                        if (AtomicFiles.isTemporary(c)) {
                            if (mtime < cutoff) {
                                Files.deleteIfExists(c);
                                tmp++;
                            }
                            continue;
                        }
                        if (named.contains(name) || mtime >= cutoff) {
                            kept++;
                            continue;
                        }
                        long size = Files.size(c);
                        Files.delete(c);
                        removed++;
                        freed += size;
                    }
                    if (removed > 0 || tmp > 0) {
                        AtomicFiles.syncDirectory(dir);
                    }
                } catch (IOException e) {
                    throw e;
                } catch (Exception e) {
                    throw new RepositoryException(e.getMessage(), e);
                }
            }
            log.info("event=backup_gc repo={} kept={} removed={} freed_bytes={} tmp_removed={}", repo.dir(), kept, removed, freed, tmp);
            return new Result(kept, removed, freed, tmp, stale);
        } catch (IOException e) {
            throw new RepositoryException("garbage collection of " + repo.dir() + " failed: " + e.getMessage(), e);
        }
    }

    private static String[] read(Path writer) {
        try {
            return Files.readString(writer).strip().split(" ", 2);
        } catch (IOException e) {
            return new String[0];
        }
    }

    private static long startOf(String[] record, FileTime fallback) {
        try {
            return record.length == 0 || record[0].isEmpty() ? fallback.toMillis() : Long.parseLong(record[0]);
        } catch (NumberFormatException e) {
            return fallback.toMillis();
        }
    }

    /** The file system's idea of now, which is what chunk time stamps are compared with. */
    private FileTime fileSystemNow() throws IOException {
        Path probe = repo.dir().resolve("writers").resolve(".gc-clock-" + ProcessHandle.current().pid() + "-" + Thread.currentThread().getId());
        Files.write(probe, new byte[0]);
        try {
            return Files.getLastModifiedTime(probe);
        } finally {
            Files.deleteIfExists(probe);
        }
    }
}
