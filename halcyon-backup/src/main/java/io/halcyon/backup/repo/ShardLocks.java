package io.halcyon.backup.repo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Readers-writer locks per chunk shard, across processes and threads: byte {@code shard} of the
 * repository's lock file, locked with fcntl (shared to add or reuse a chunk, exclusive for the
 * garbage collector to delete one). The JVM refuses overlapping fcntl locks among its own
 * threads, so within a process the first sharer takes the file lock and the last releases it.
 *
 * <p>This closes the one race time stamps cannot: a backup finding a chunk present and keeping it
 * while the collector, having just read its old time stamp, deletes it.
 */
final class ShardLocks implements AutoCloseable {
    private static final ConcurrentHashMap<Path, ShardLocks> OPEN = new ConcurrentHashMap<>();

    private final Path file;
    private final FileChannel channel;
    private final Shard[] shards = new Shard[256];
    private int users;

    private static final class Shard {
        int sharers;
        boolean exclusive;
        FileLock lock;
    }

    private ShardLocks(Path file) throws IOException {
        this.file = file;
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        for (int i = 0; i < shards.length; i++) {
            shards[i] = new Shard();
        }
    }

    /** One instance per lock file and process, counted. */
    static ShardLocks open(Path file) throws IOException {
        Path key = file.toAbsolutePath().normalize();
        synchronized (OPEN) {
            ShardLocks l = OPEN.get(key);
            if (l == null) {
                l = new ShardLocks(key);
                OPEN.put(key, l);
            }
            l.users++;
            return l;
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (OPEN) {
            if (--users == 0) {
                OPEN.remove(file);
                channel.close();
            }
        }
    }

    AutoCloseable shared(int shard) {
        Shard s = shards[shard];
        synchronized (s) {
            while (s.exclusive) {
                await(s);
            }
            if (s.sharers == 0) {
                s.lock = lock(shard, true);
            }
            s.sharers++;
        }
        return () -> {
            synchronized (s) {
                if (--s.sharers == 0) {
                    s.lock.release();
                    s.lock = null;
                    s.notifyAll();
                }
            }
        };
    }

    AutoCloseable exclusive(int shard) {
        Shard s = shards[shard];
        synchronized (s) {
            while (s.exclusive || s.sharers > 0) {
                await(s);
            }
            s.lock = lock(shard, false);
            s.exclusive = true;
        }
        return () -> {
            synchronized (s) {
                s.exclusive = false;
                s.lock.release();
                s.lock = null;
                s.notifyAll();
            }
        };
    }

    private FileLock lock(int shard, boolean shared) {
        try {
            return channel.lock(shard, 1, shared);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock " + file, e);
        }
    }

    private static void await(Object monitor) {
        try {
            monitor.wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RepositoryException("interrupted while waiting for a repository lock");
        }
    }
}
