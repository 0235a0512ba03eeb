package io.halcyon.runtime;

import io.halcyon.store.Compare;
import io.halcyon.store.LeaseNotFoundException;
import io.halcyon.store.Op;
import io.halcyon.store.Store;
import io.halcyon.store.StoreException;
import io.halcyon.store.Txn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static java.util.Objects.requireNonNull;

/**
 * Leader election through a store lease: the leader key exists only while its holder keeps the
 * lease alive. Leadership is judged on this process's monotonic clock: it ends when the last
 * renewal request was <em>sent</em> more than {@code ttl - margin} ago, which is before the
 * store can have let the lease expire and let another controller win, whatever the renewal
 * replies say. The term's fencing token is the revision at which the leader key was created.
 * With the sqlite store the single controller simply wins at once and keeps winning.
 */
public final class LeaderElector implements Leadership, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LeaderElector.class);
    public static final String KEY = "/halcyon/leader/controller";

    private final Store store;
    private final String identity;
    private final Duration ttl;
    private final Duration margin;
    private final Clock clock;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final Thread thread;
    private volatile boolean closed;
    private volatile long epoch;
    private volatile long lease;
    private volatile long lastRenewSentNanos;
    private volatile boolean leader;

    public LeaderElector(Store store, String identity, Duration ttl, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.identity = requireNonNull(identity, "identity is null");
        this.ttl = requireNonNull(ttl, "ttl is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.margin = ttl.dividedBy(4);
        this.thread = new Thread(this::run, "leader-elector");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    @Override
    public boolean isLeader() {
        return leader && clock.nanoTime() - lastRenewSentNanos < ttl.minus(margin).toNanos();
    }

    @Override
    public long epoch() {
        return isLeader() ? epoch : 0;
    }

    @Override
    public Compare fence() {
        return Compare.modRevision(KEY, epoch);
    }

    @Override
    public void addListener(Listener listener) {
        listeners.add(listener);
        if (isLeader()) {
            listener.elected(epoch);
        }
    }

    public String identity() {
        return identity;
    }

    private void run() {
        long renewPause = Math.max(50, ttl.toMillis() / 3);
        // a follower asks often: a campaign is one compare-and-create, and failover waits on it
        long campaignPause = Math.min(renewPause, 250);
        while (!closed) {
            try {
                if (!leader) {
                    campaign();
                } else {
                    renew();
                }
            } catch (StoreException e) {
                log.warn("event=leader_election_error leader={} error={}", leader, e.getMessage());
            } catch (RuntimeException e) {
                log.error("event=leader_election_failure", e);
            }
            if (leader && !isLeader()) {
                stepDown("renewal deadline passed");
            }
            try {
                Thread.sleep(leader ? renewPause : campaignPause);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void campaign() {
        long sent = clock.nanoTime();
        long l = store.grantLease(ttl);
        var r = store.txn(Txn.builder()
                .when(Compare.absent(KEY))
                .onSuccess(Op.put(KEY, identity.getBytes(StandardCharsets.UTF_8), l))
                .build());
        if (!r.succeeded()) {
            store.revokeLease(l);
            return;
        }
        lease = l;
        epoch = r.revision();
        lastRenewSentNanos = sent;
        leader = true;
        log.info("event=leader_elected identity={} epoch={}", identity, epoch);
        for (Listener li : listeners) {
            li.elected(epoch);
        }
    }

    private void renew() {
        long sent = clock.nanoTime();
        try {
            store.keepAlive(lease);
            lastRenewSentNanos = sent;
        } catch (LeaseNotFoundException e) {
            stepDown("lease lost");
        }
    }

    private void stepDown(String reason) {
        if (!leader) {
            return;
        }
        leader = false;
        log.warn("event=leader_deposed identity={} epoch={} reason=\"{}\"", identity, epoch, reason);
        for (Listener li : listeners) {
            li.deposed();
        }
        try {
            store.revokeLease(lease);
        } catch (StoreException e) {
            // it expires on its own
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (leader) {
            leader = false;
            for (Listener li : listeners) {
                li.deposed();
            }
            try {
                store.revokeLease(lease);
            } catch (StoreException e) {
                log.warn("event=leader_release_failed error={}", e.getMessage());
            }
        }
    }
}
