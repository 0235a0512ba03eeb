package io.halcyon.runtime;

import io.halcyon.store.CompactedException;
import io.halcyon.store.KeyValue;
import io.halcyon.store.RangeResult;
import io.halcyon.store.Store;
import io.halcyon.store.StoreException;
import io.halcyon.store.Watch;
import io.halcyon.store.WatchEvent;
import io.halcyon.store.WatchListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import static java.util.Objects.requireNonNull;

/**
 * One list-then-watch over everything under {@code /halcyon/}, feeding an {@link Informer} per
 * registered kind. Because every store revision touches a key under that root, the cache knows
 * exactly which revision it reflects, so {@link #sync} gives reads that see every write
 * acknowledged before them (read-your-writes across controllers). After a compaction or a failed
 * watch it relists and reports the differences as ordinary changes.
 */
public final class Cache implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Cache.class);

    private final Store store;
    private final Map<String, Informer<?>> informers = new ConcurrentHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition advanced = lock.newCondition();
    private final ScheduledExecutorService retry = Executors.newSingleThreadScheduledExecutor(r -> {
        var t = new Thread(r, "cache-rewatch");
        t.setDaemon(true);
        return t;
    });
    private volatile long revision;
    private volatile Watch watch;
    private volatile boolean closed;

    public Cache(Store store) {
        this.store = requireNonNull(store, "store is null");
    }

    /** Registers a kind; call before {@link #start}. */
    public <T> Informer<T> informer(Kind<T> kind) {
        var inf = new Informer<>(kind, new Repository<>(store, kind));
        if (informers.putIfAbsent(kind.name(), inf) != null) {
            throw new IllegalStateException("kind " + kind.name() + " registered twice");
        }
        return inf;
    }

    public void start() {
        relistAndWatch();
    }

    public long revision() {
        return revision;
    }

    /** Waits until the cache reflects at least {@code target}. */
    public boolean awaitRevision(long target, Duration timeout) {
        if (revision >= target) {
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (revision < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                advanced.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Waits until the cache has caught up with the store as it is now. */
    public void sync(Duration timeout) {
        long target = store.revision();
        if (!awaitRevision(target, timeout)) {
            throw new StoreException("cache did not reach revision " + target + " within " + timeout.toMillis()
                    + " ms (at " + revision + ")");
        }
    }

    private void relistAndWatch() {
        if (closed) {
            return;
        }
        RangeResult all = store.range(Kind.ROOT);
        var byKind = new HashMap<String, Map<String, KeyValue>>();
        informers.keySet().forEach(k -> byKind.put(k, new HashMap<>()));
        for (KeyValue kv : all.kvs()) {
            route(kv.key(), (inf, id) -> byKind.get(inf.kind().name()).put(id, kv));
        }
        lock.lock();
        try {
            for (var e : byKind.entrySet()) {
                informers.get(e.getKey()).replaceAll(e.getValue());
            }
            setRevision(all.revision());
        } finally {
            lock.unlock();
        }
        log.info("event=cache_listed revision={} keys={}", all.revision(), all.kvs().size());
        watch = store.watch(Kind.ROOT, all.revision() + 1, new WatchListener() {
            @Override
            public void onEvents(List<WatchEvent> events) {
                apply(events);
            }

            @Override
            public void onError(StoreException error) {
                if (closed) {
                    return;
                }
                log.warn("event=cache_watch_failed compacted={} error={}", error instanceof CompactedException, error.getMessage());
                retry.schedule(Cache.this::rewatch, error instanceof CompactedException ? 0 : 500, TimeUnit.MILLISECONDS);
            }
        });
    }

    private void rewatch() {
        try {
            var old = watch;
            if (old != null) {
                old.close();
            }
            relistAndWatch();
        } catch (RuntimeException e) {
            log.warn("event=cache_relist_failed error={}", e.getMessage());
            if (!closed) {
                retry.schedule(this::rewatch, 1, TimeUnit.SECONDS);
            }
        }
    }

    private void apply(List<WatchEvent> events) {
        lock.lock();
        try {
            long last = revision;
            for (WatchEvent e : events) {
                if (e.revision() <= revision) {
                    continue; // already reflected by a relist
                }
                String key = e.kv().key();
                route(key, (inf, id) -> {
                    if (e.type() == WatchEvent.Type.PUT) {
                        inf.applyPut(id, e.kv());
                    } else {
                        inf.applyDelete(id);
                    }
                });
                last = Math.max(last, e.revision());
            }
            setRevision(last);
        } finally {
            lock.unlock();
        }
    }

    private interface Router {
        void to(Informer<?> informer, String id);
    }

    private void route(String key, Router router) {
        if (!key.startsWith(Kind.ROOT)) {
            return;
        }
        int slash = key.indexOf('/', Kind.ROOT.length());
        if (slash < 0) {
            return;
        }
        Informer<?> inf = informers.get(key.substring(Kind.ROOT.length(), slash));
        if (inf != null && slash + 1 < key.length()) {
            router.to(inf, key.substring(slash + 1));
        }
    }

    private void setRevision(long r) {
        if (r > revision) {
            revision = r;
        }
        advanced.signalAll();
    }

    @Override
    public void close() {
        closed = true;
        var w = watch;
        if (w != null) {
            w.close();
        }
        retry.shutdownNow();
    }
}
