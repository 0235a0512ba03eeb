package io.halcyon.api.agent;

import io.halcyon.model.host.HostBeatBatch;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.store.LeaseNotFoundException;
import io.halcyon.store.Op;
import io.halcyon.store.StoreException;
import io.halcyon.store.Txn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static java.util.Objects.requireNonNull;

/**
 * Group commit of ordinary lease renewals: one store write per period for every renewal this
 * controller answered in it, instead of one per renewal. A renewal is answered only once the
 * batch that holds it is written, so the leader, which learns of renewals from the store, never
 * sees one later than the agent counts it (the order the HA arithmetic rests on).
 */
final class BeatBatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BeatBatcher.class);
    private static final Duration LEASE_TTL = Duration.ofSeconds(30);
    private static final long KEEP_NANOS = Duration.ofSeconds(10).toNanos();

    private final Resources res;
    private final String controller;
    private final long periodNanos;
    private final Repository<HostBeatBatch> repo;
    private final Object lock = new Object();
    private Map<String, Long> pending = new HashMap<>();
    private CompletableFuture<Long> next = new CompletableFuture<>();
    private boolean closed;
    private long batch;
    private long lease;
    private long leaseKeptAt;
    private final Thread writer;

    BeatBatcher(Resources res, String controller, Duration period) {
        this.res = requireNonNull(res, "res is null");
        this.controller = requireNonNull(controller, "controller is null");
        this.periodNanos = period.toNanos();
        this.repo = res.repo(Kinds.HOST_BEAT_BATCHES);
        this.writer = new Thread(this::run, "beat-batcher");
        writer.setDaemon(true);
        writer.start();
    }

    /** Adds a renewal of {@code host}; completes with the revision of the batch that holds it once written. */
    CompletableFuture<Long> add(String host, long seq) {
        synchronized (lock) {
            if (closed) {
                return CompletableFuture.failedFuture(new StoreException("the controller is stopping"));
            }
            pending.merge(host, seq, Math::max);
            lock.notifyAll();
            return next;
        }
    }

    private void run() {
        long last = System.nanoTime() - periodNanos;
        while (true) {
            Map<String, Long> hosts;
            CompletableFuture<Long> done;
            try {
                long wait = last + periodNanos - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                synchronized (lock) {
                    while (!closed && pending.isEmpty()) {
                        lock.wait();
                    }
                    if (closed) {
                        next.completeExceptionally(new StoreException("the controller is stopping"));
                        return;
                    }
                    hosts = pending;
                    pending = new HashMap<>();
                    done = next;
                    next = new CompletableFuture<>();
                }
            } catch (InterruptedException e) {
                return;
            }
            last = System.nanoTime();
            try {
                done.complete(write(hosts));
            } catch (RuntimeException e) {
                log.warn("event=beat_batch_failed hosts={} error=\"{}\"", hosts.size(), e.toString());
                done.completeExceptionally(e);
            }
        }
    }

    private long write(Map<String, Long> hosts) {
        long l = lease();
        var rec = new HostBeatBatch(controller, ++batch, hosts, res.clock().now());
        try {
            return res.store().txn(Txn.builder().onSuccess(Op.put(Kinds.HOST_BEAT_BATCHES.key(controller), repo.encode(rec), l)).build())
                    .revision();
        } catch (LeaseNotFoundException e) {
            lease = 0;
            throw e;
        }
    }

    /** The batch record lives on a lease of its own, so a stopped controller's record goes by itself. */
    private long lease() {
        long now = System.nanoTime();
        if (lease != 0 && now - leaseKeptAt < KEEP_NANOS) {
            return lease;
        }
        if (lease != 0) {
            try {
                res.store().keepAlive(lease);
                leaseKeptAt = now;
                return lease;
            } catch (LeaseNotFoundException e) {
                lease = 0;
            }
        }
        lease = res.store().grantLease(LEASE_TTL);
        leaseKeptAt = now;
        return lease;
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
        try {
            writer.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
