package io.halcyon.ha;

import java.time.Duration;

/**
 * The agent's half of fencing, on the agent's own monotonic clock (milliseconds). It counts from
 * the moment a renewal that succeeded was <em>sent</em>. While armed and silent for the timeout it
 * fires once: the agent kills its HA guests and stops petting the watchdog. After firing, HA guests
 * may start again only from an assignment list at least as new as the first renewal that
 * succeeded afterwards (see the package notes). Not thread-safe: the agent calls it under a lock.
 */
public final class SelfFence {
    private final long timeoutMillis;
    private boolean armed;
    private long lastSent;
    private boolean fired;
    private long clearance = -1;

    public SelfFence(Duration timeout, long nowMillis) {
        this.timeoutMillis = timeout.toMillis();
        this.lastSent = nowMillis;
    }

    /** A renewal sent at {@code sentAt} succeeded; {@code armed} as the answer said; {@code revision} of its write. */
    public void renewed(long sentAt, boolean armedNow, long revision) {
        lastSent = Math.max(lastSent, sentAt);
        armed = armedNow;
        if (fired && clearance < 0) {
            clearance = revision;
        }
    }

    /** True exactly once per silence: the moment to kill the HA guests. */
    public boolean fire(long now) {
        if (armed && !fired && now - lastSent >= timeoutMillis) {
            fired = true;
            clearance = -1;
            return true;
        }
        return false;
    }

    /** Whether the watchdog may be petted now; a disarmed agent pets while it lives. */
    public boolean mayPet(long now) {
        return !armed || now - lastSent < timeoutMillis;
    }

    /** Whether an assignment list of {@code revision} may start HA guests; clears a past firing once it may. */
    public boolean mayStartHaGuests(long revision) {
        if (!fired) {
            return true;
        }
        if (clearance >= 0 && revision >= clearance) {
            fired = false;
            clearance = -1;
            return true;
        }
        return false;
    }

    public boolean armed() {
        return armed;
    }

    public boolean fired() {
        return fired;
    }

    /** After firing: whether a renewal has since set the revision HA guests wait for. */
    public boolean cleared() {
        return clearance >= 0;
    }

    public long silenceMillis(long now) {
        return now - lastSent;
    }
}
