package io.halcyon.runtime;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A queue of keys, not events: a key added many times while it waits is queued once, and a key
 * being processed is never handed to a second worker; if it is added meanwhile it is queued again
 * when the first worker is done. Failed keys come back after a capped exponential backoff.
 */
public final class WorkQueue {
    private final ArrayDeque<String> queue = new ArrayDeque<>();
    private final Set<String> dirty = new HashSet<>();
    private final Set<String> processing = new HashSet<>();
    private final Map<String, Integer> failures = new HashMap<>();
    private final Duration baseDelay;
    private final Duration maxDelay;
    private final ScheduledExecutorService timer;
    private boolean shutdown;

    public WorkQueue(String name, Duration baseDelay, Duration maxDelay) {
        this.baseDelay = baseDelay;
        this.maxDelay = maxDelay;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            var t = new Thread(r, "workqueue-timer-" + name);
            t.setDaemon(true);
            return t;
        });
    }

    public synchronized void add(String key) {
        if (shutdown || !dirty.add(key)) {
            return;
        }
        if (!processing.contains(key)) {
            queue.add(key);
            notify();
        }
    }

    public void addAfter(String key, Duration delay) {
        if (delay.isZero() || delay.isNegative()) {
            add(key);
            return;
        }
        synchronized (this) {
            if (shutdown) {
                return;
            }
        }
        timer.schedule(() -> add(key), delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Re-adds a failed key after its backoff: base * 2^failures, at most max. */
    public void addRateLimited(String key) {
        int n;
        synchronized (this) {
            n = failures.merge(key, 1, Integer::sum);
        }
        addAfter(key, backoff(n));
    }

    Duration backoff(int failuresSoFar) {
        int shift = Math.min(30, Math.max(0, failuresSoFar - 1));
        long nanos = baseDelay.toNanos() << shift;
        if (nanos <= 0 || nanos > maxDelay.toNanos()) {
            return maxDelay;
        }
        return Duration.ofNanos(nanos);
    }

    public synchronized void forget(String key) {
        failures.remove(key);
    }

    /** The next key, blocking; null once the queue is shut down. */
    public synchronized String take() throws InterruptedException {
        while (queue.isEmpty() && !shutdown) {
            wait();
        }
        if (shutdown) {
            return null;
        }
        String key = queue.poll();
        dirty.remove(key);
        processing.add(key);
        return key;
    }

    public synchronized void done(String key) {
        processing.remove(key);
        if (dirty.contains(key) && !shutdown) {
            queue.add(key);
            notify();
        }
    }

    public synchronized int length() {
        return queue.size();
    }

    public synchronized void shutdown() {
        shutdown = true;
        notifyAll();
        timer.shutdownNow();
    }
}
