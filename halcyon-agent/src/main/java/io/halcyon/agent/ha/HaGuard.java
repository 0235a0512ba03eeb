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
 */
public final class HaGuard implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HaGuard.class);
    static final long GRACE_MILLIS = 1000;

    /** Renews the lease; returns whether the answer says "armed" and the revision of the renewal, or throws. */
    public interface Renewer {
        Renewal renew(boolean armed) throws Exception;
    }

    public record Renewal(boolean armed, long revision) {
    }

    private final String host;
    private final Renewer renewer;
    private final Runnable killHaGuests;
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

    public HaGuard(String host, Duration renewInterval, Duration selfFenceTimeout, boolean armed, Renewer renewer, Runnable killHaGuests,
                   Watchdog watchdog, LongSupplier clockMillis) {
        this.host = requireNonNull(host, "host is null");
        this.renewer = requireNonNull(renewer, "renewer is null");
        this.killHaGuests = requireNonNull(killHaGuests, "killHaGuests is null");
        this.watchdog = watchdog;
        this.clock = requireNonNull(clockMillis, "clockMillis is null");
        this.renewMillis = renewInterval.toMillis();
        this.fence = new SelfFence(selfFenceTimeout, clock.getAsLong());
        // the registration that just succeeded counts as the first renewal
        fence.renewed(clock.getAsLong(), armed, 0);
    }

    public void start() {
        renewThread = daemon(this::renewLoop, "ha-renew-" + host);
        tickThread = daemon(this::tickLoop, "ha-tick-" + host);
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
            boolean armed;
            synchronized (this) {
                armed = fence.armed();
            }
            try {
                Renewal r = renewer.renew(armed);
                synchronized (this) {
                    boolean firstSinceFence = fence.fired() && !fence.cleared();
                    fence.renewed(sentAt, r.armed(), r.revision());
                    if (firstSinceFence) {
                        log.info("event=lease_renewed_after_self_fence host={} revision={}", host, r.revision());
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                log.warn("event=renewal_failed host={} silence_ms={} error=\"{}\"", host, silence(), e.getMessage());
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
            killHaGuests.run();
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
        boolean told = false;
        try {
            renewer.renew(false);
            told = true;
            log.info("event=self_fence_stood_down host={}", host);
        } catch (Exception e) {
            log.warn("event=stand_down_failed host={} error=\"{}\"", host, e.getMessage());
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
