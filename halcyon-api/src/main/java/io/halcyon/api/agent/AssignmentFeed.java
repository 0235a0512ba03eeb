package io.halcyon.api.agent;

import io.halcyon.model.compute.Server;
import io.halcyon.runtime.Informer;
import io.halcyon.runtime.Versioned;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Per host, the last revision at which anything placed on it (or moved off it) changed, and the
 * agents' long polls waiting for the next such change. Fed by the server informer's handler, so a
 * change wakes only the agents of the hosts it touches.
 */
public final class AssignmentFeed implements Informer.Handler<Server> {
    private final Map<String, Long> changed = new ConcurrentHashMap<>();
    private final Map<String, List<CompletableFuture<Void>>> waiters = new ConcurrentHashMap<>();

    @Override
    public void onChange(String id, Versioned<Server> old, Versioned<Server> now) {
        long rev = now != null ? now.revision() : old.revision() + 1;
        if (old != null && old.value().status().host() != null) {
            bump(old.value().status().host(), rev);
        }
        if (now != null && now.value().status().host() != null) {
            bump(now.value().status().host(), rev);
        }
    }

    /** Marks a host changed (a re-registration, an image it uses becoming available). */
    public void bump(String host, long revision) {
        changed.merge(host, revision, Math::max);
        List<CompletableFuture<Void>> list;
        synchronized (this) {
            list = waiters.remove(host);
        }
        if (list != null) {
            list.forEach(f -> f.complete(null));
        }
    }

    public long lastChange(String host) {
        return changed.getOrDefault(host, 0L);
    }

    /** Completes when the host changed after {@code after}, or after {@code waitMillis} anyway. */
    /** The polls of {@code host} held now, waiting for a change. */
    public synchronized int waiting(String host) {
        var list = waiters.get(host);
        return list == null ? 0 : list.size();
    }

    public CompletableFuture<Void> await(String host, long after, long waitMillis) {
        var f = new CompletableFuture<Void>();
        synchronized (this) {
            if (after <= 0 || lastChange(host) > after || waitMillis <= 0) {
                f.complete(null);
                return f;
            }
            waiters.computeIfAbsent(host, h -> new ArrayList<>()).add(f);
        }
        return f.completeOnTimeout(null, waitMillis, TimeUnit.MILLISECONDS).whenComplete((v, e) -> {
            synchronized (this) {
                var list = waiters.get(host);
                if (list != null) {
                    list.remove(f);
                    if (list.isEmpty()) {
                        waiters.remove(host, list);
                    }
                }
            }
        });
    }
}
