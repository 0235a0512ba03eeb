package io.halcyon.agent.ha;

import io.halcyon.ha.HaSettings;
import io.halcyon.ha.SelfFence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.function.LongSupplier;

import static java.util.Objects.requireNonNull;

/**
 * The agent's half of instance HA, on the agent's monotonic clock. One thread renews the host
 * lease (a renewal counts from the moment it was sent); another ticks every 100 ms and never waits
 * on the network: it pets the watchdog while the last renewal is younger than the self-fence
 * timeout, and when it is not, asks for one immediate renewal, waits at most {@link #GRACE_MILLIS},
 * and then kills the HA guests. So a paused agent that wakes up renews before anything else and
 * carries on, and an isolated one has its HA guests dead within the kill budget of the safety
 * argument ({@link HaSettings#KILL_BUDGET}).
 *
 * <p>With a {@link StorageWitness}, a third thread writes the host's heartbeat on the shared
 * storage every renewal interval, and each one written counts as a renewal for the silence, once
 * a renewal has told the leader that it does (the first one does): a host cut from the control
 * plane but not from its storage neither self-fences nor stops petting its watchdog.
 */
public final class HaGuard implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HaGuard.class);
    static final long GRACE_MILLIS = 1000;
    /** How long the self-fence waits for SIGKILLed guests to be gone: the rest of the kill budget after the grace. */
    public static final long KILL_WAIT_MILLIS = HaSettings.KILL_BUDGET.toMillis() - GRACE_MILLIS;

    /**
     * Renews the lease, saying whether the agent enforces its self-fence and whether it self-fenced
     * since its last renewal; returns whether the answer says "armed" and the renewal's revision.
     */
    public interface Renewer {
        Renewal renew(boolean armed, boolean afterFence) throws Exception;
    }

    public record Renewal(boolean armed, long revision) {
    }

    private final String host;
    private final Renewer renewer;
    private final java.util.function.BooleanSupplier killHaGuests;
    private final Watchdog watchdog;
    private final LongSupplier clock;
    private final long renewMillis;
    private final SelfFence fence;
    private final Object renewSignal = new Object();
    private boolean urgent;
    private long graceUntil = -1;
    private volatile boolean closed;
    private Thread renewThread;
    private Thread tickThread;
    private Thread witnessThread;
    private final StorageWitness witness;
    private boolean witnessCounted;

    public HaGuard(String host, Duration renewInterval, Duration selfFenceTimeout, boolean armed, Renewer renewer,
                   java.util.function.BooleanSupplier killHaGuests,
                   Watchdog watchdog, StorageWitness witness, LongSupplier clockMillis) {
        this.witness = witness;
        this.host = requireNonNull(host, "host is null");
        this.renewer = requireNonNull(renewer, "renewer is null");
        this.killHaGuests = requireNonNull(killHaGuests, "killHaGuests is null");
        this.watchdog = watchdog;
        this.clock = requireNonNull(clockMillis, "clockMillis is null");
        this.renewMillis = renewInterval.toMillis();
        // the registration that just succeeded counts as the first renewal
        this.fence = new SelfFence(selfFenceTimeout, clock.getAsLong(), armed);
    }

    public void start() {
        if (watchdog != null) {
            watchdog.handOver();
        }
        renewThread = daemon(this::renewLoop, "ha-renew-" + host);
        tickThread = daemon(this::tickLoop, "ha-tick-" + host);
        if (witness != null) {
            witnessThread = daemon(this::witnessLoop, "ha-witness-" + host);
        }
    }

    private void witnessLoop() {
        long failures = 0;
        while (!closed) {
            long sentAt = clock.getAsLong();
            try {
                beatWitness(sentAt);
                failures = 0;
            } catch (java.io.IOException e) {
                if (failures++ % 30 == 0) {
                    log.warn("event=witness_write_failed host={} file={} error=\"{}\"", host, witness.file(), e.toString());
                }
            }
            long wait = sentAt + renewMillis - clock.getAsLong();
            try {
                if (wait > 0) {
                    Thread.sleep(wait);
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One heartbeat on the storage, started at {@code sentAt}; it counts once a renewal has said so. */
    void beatWitness(long sentAt) throws java.io.IOException {
        witness.beat();
        synchronized (this) {
            if (witnessCounted) {
                fence.storageRenewed(sentAt);
            }
        }
    }

    private static Thread daemon(Runnable r, String name) {
        var t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void renewLoop() {
        long next = clock.getAsLong() + renewMillis;
        while (!closed) {
            synchronized (renewSignal) {
                long wait = next - clock.getAsLong();
                while (!urgent && wait > 0 && !closed) {
                    try {
                        renewSignal.wait(wait);
                    } catch (InterruptedException e) {
                        return;
                    }
                    wait = next - clock.getAsLong();
                }
                urgent = false;
            }
            long sentAt = clock.getAsLong();
            next = sentAt + renewMillis;
            try {
                renewNow(sentAt);
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                log.warn("event=renewal_failed host={} silence_ms={} error=\"{}\"", host, silence(), e.getMessage());
            }
        }
    }

    /** One renewal, sent at {@code sentAt}. */
    void renewNow(long sentAt) throws Exception {
        boolean armed;
        boolean afterFence;
        synchronized (this) {
            armed = fence.toSend();
            afterFence = fence.fired() && !fence.cleared();
        }
        Renewal r = renewer.renew(armed, afterFence);
        synchronized (this) {
            boolean firstSinceFence = fence.fired() && !fence.cleared();
            fence.renewed(sentAt, armed, r.armed(), r.revision());
            // the renewal said the agent counts its storage heartbeats, and its record now says so
            witnessCounted = witness != null;
            if (firstSinceFence) {
                log.info("event=lease_renewed_after_self_fence host={} revision={}", host, r.revision());
            }
        }
    }

    private synchronized long silence() {
        return fence.silenceMillis(clock.getAsLong());
    }

    private void tickLoop() {
        while (!closed) {
            tick();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One tick: pet or not, and self-fence when the grace for a last renewal has run out. */
    void tick() {
        long now = clock.getAsLong();
        boolean kill = false;
        synchronized (this) {
            if (watchdog != null && fence.mayPet(now)) {
                watchdog.pet();
            }
            boolean due = fence.armed() && !fence.fired() && !fence.mayPet(now);
            if (!due) {
                graceUntil = -1;
            } else if (graceUntil < 0) {
                graceUntil = now + GRACE_MILLIS;
                synchronized (renewSignal) {
                    urgent = true;
                    renewSignal.notifyAll();
                }
            } else if (now >= graceUntil && fence.fire(now)) {
                graceUntil = -1;
                kill = true;
                log.warn("event=self_fence host={} silence_ms={} action=\"kill HA guests, stop petting the watchdog\"", host,
                        fence.silenceMillis(now));
            }
        }
        if (kill) {
            boolean gone;
            try {
                gone = killHaGuests.getAsBoolean();
            } catch (RuntimeException e) {
                gone = false;
                log.error("event=self_fence_kill_failed host={} error=\"{}\"", host, e.toString());
            }
            if (!gone) {
                log.error("event=self_fence_incomplete host={} action=\"an HA guest survived SIGKILL; the watchdog resets the host\"", host);
            }
        }
    }

    /** Whether HA guests may start from an assignment list of {@code revision} (not until the fence has been cleared). */
    public synchronized boolean mayStartHaGuests(long revision) {
        return fence.mayStartHaGuests(revision);
    }

    public synchronized boolean armed() {
        return fence.armed();
    }

    /**
     * A clean stop: the agent will no longer self-fence, so it says so in one last renewal before it
     * disarms the watchdog (the leader then counts only on the BMC). If that renewal fails, the
     * watchdog is left armed, and resets the host unless a new agent takes over in time.
     */
    @Override
    public void close() {
        closed = true;
        if (renewThread != null) {
            renewThread.interrupt();
        }
        if (tickThread != null) {
            tickThread.interrupt();
        }
        if (witnessThread != null) {
            witnessThread.interrupt();
        }
        boolean told = false;
        synchronized (this) {
            // stopping: no more storage heartbeats count, whatever the last renewal below does
            witnessCounted = false;
        }
        try {
            renewer.renew(false, false);
            told = true;
            log.info("event=self_fence_stood_down host={}", host);
        } catch (Exception e) {
            log.warn("event=stand_down_failed host={} error=\"{}\"", host, e.getMessage());
        }
        if (witness != null) {
            witness.close();
        }
        if (watchdog != null) {
            if (told) {
                watchdog.close();
            } else {
                watchdog.abandon();
            }
        }
    }
}
