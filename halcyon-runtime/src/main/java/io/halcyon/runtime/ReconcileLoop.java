package io.halcyon.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/**
 * Runs one {@link Reconciler} over a {@link WorkQueue} with a few workers, only while this
 * controller is the leader. On election, and periodically as a safety net, every key is queued
 * again; keys taken while not leader are dropped, because the next leader resyncs them anyway.
 */
public final class ReconcileLoop implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReconcileLoop.class);

    private final String name;
    private final Reconciler reconciler;
    private final WorkQueue queue;
    private final int workers;
    private final Leadership leadership;
    private final Supplier<Collection<String>> allKeys;
    private final Duration resyncPeriod;
    private final List<Thread> threads = new ArrayList<>();
    private final ScheduledExecutorService resync;
    private volatile boolean closed;

    public ReconcileLoop(String name, Reconciler reconciler, WorkQueue queue, int workers, Leadership leadership,
                         Supplier<Collection<String>> allKeys, Duration resyncPeriod) {
        this.name = requireNonNull(name, "name is null");
        this.reconciler = requireNonNull(reconciler, "reconciler is null");
        this.queue = requireNonNull(queue, "queue is null");
        this.workers = workers;
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.allKeys = requireNonNull(allKeys, "allKeys is null");
        this.resyncPeriod = requireNonNull(resyncPeriod, "resyncPeriod is null");
        this.resync = Executors.newSingleThreadScheduledExecutor(r -> {
            var t = new Thread(r, "resync-" + name);
            t.setDaemon(true);
            return t;
        });
    }

    public WorkQueue queue() {
        return queue;
    }

    public void start() {
        for (int i = 0; i < workers; i++) {
            var t = new Thread(this::work, "reconcile-" + name + "-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        leadership.addListener(new Leadership.Listener() {
            @Override
            public void elected(long epoch) {
                resyncAll();
            }

            @Override
            public void deposed() {
                // workers stop taking keys at once: isLeader() is already false
            }
        });
        resync.scheduleWithFixedDelay(this::resyncAll, resyncPeriod.toMillis(), resyncPeriod.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void resyncAll() {
        if (!leadership.isLeader()) {
            return;
        }
        try {
            for (String key : allKeys.get()) {
                queue.add(key);
            }
        } catch (RuntimeException e) {
            log.error("event=resync_failed loop={}", name, e);
        }
    }

    private void work() {
        while (!closed) {
            String key;
            try {
                key = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (key == null) {
                return;
            }
            try {
                if (!leadership.isLeader()) {
                    continue;
                }
                Result r = reconciler.reconcile(key);
                queue.forget(key);
                if (r.requeueAfter() != null) {
                    queue.addAfter(key, r.requeueAfter());
                }
            } catch (ConflictException e) {
                log.debug("event=reconcile_conflict loop={} key={} error=\"{}\"", name, key, e.getMessage());
                queue.addRateLimited(key);
            } catch (Exception e) {
                log.warn("event=reconcile_failed loop={} key={} error=\"{}\"", name, key, e.toString());
                queue.addRateLimited(key);
            } finally {
                queue.done(key);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        queue.shutdown();
        resync.shutdownNow();
        for (Thread t : threads) {
            t.interrupt();
        }
        // a worker cut short cleans up after itself (a qemu-nbd it started, a temporary file): give it the time to
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(15);
        for (Thread t : threads) {
            try {
                t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
