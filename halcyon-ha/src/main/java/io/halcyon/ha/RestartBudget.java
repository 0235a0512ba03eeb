package io.halcyon.ha;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Instance-level HA's brake: at most {@code limit} in-place restarts of one guest within a sliding
 * {@code window}, so a guest that crashes on every boot is left alone instead of looping.
 */
public final class RestartBudget {
    private final int limit;
    private final long windowMillis;
    private final Map<String, ArrayDeque<Long>> restarts = new HashMap<>();

    public RestartBudget(int limit, Duration window) {
        this.limit = limit;
        this.windowMillis = window.toMillis();
    }

    /** Takes one restart for {@code id} at {@code now}; false when the budget is spent. */
    public synchronized boolean take(String id, long now) {
        var q = restarts.computeIfAbsent(id, k -> new ArrayDeque<>());
        while (!q.isEmpty() && now - q.peekFirst() >= windowMillis) {
            q.removeFirst();
        }
        if (q.size() >= limit) {
            return false;
        }
        q.addLast(now);
        return true;
    }

    public synchronized void forget(String id) {
        restarts.remove(id);
    }
}
