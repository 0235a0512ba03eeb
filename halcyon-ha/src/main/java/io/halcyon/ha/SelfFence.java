package io.halcyon.ha;

import java.time.Duration;

/**
 * The agent's half of fencing, on the agent's own monotonic clock (milliseconds). It counts from
 * the moment a renewal that succeeded was <em>sent</em>. While armed and silent for the timeout it
 * fires once: the agent kills its HA guests and stops petting the watchdog. After firing, HA guests
 * may start again only from an assignment list at least as new as the first renewal that
 * succeeded afterwards (see the package notes). Not thread-safe: the agent calls it under a lock.
 *
 * <p>Disarming takes two renewals. The renewal record the leader reads says whether the agent was
 * enforcing when it sent it, and the leader counts on the self-fence as long as the last record
 * says so. So when an answer asks the agent to stand down, it keeps enforcing, sends its next
 * renewal saying it no longer does ({@link #toSend()}), and stops only once that one succeeded:
 * a record that says "armed" is never followed by an agent that is not, whatever is cut when.
 * Arming needs no such care: an agent that enforces more than the leader counts on is safe.
 */
public final class SelfFence {
    private final long timeoutMillis;
    private boolean armed;
    private boolean wanted;
    private long lastSent;
    private boolean fired;
    private long clearance = -1;

    public SelfFence(Duration timeout, long nowMillis) {
        this.timeoutMillis = timeout.toMillis();
        this.lastSent = nowMillis;
    }

    /** As registration left it: enforcing if it said so (the leader counts on nothing until a renewal record says "armed"). */
    public SelfFence(Duration timeout, long nowMillis, boolean armed) {
        this(timeout, nowMillis);
        this.armed = armed;
        this.wanted = armed;
    }

    /**
     * A heartbeat on the shared storage, started at {@code sentAt}, is on the storage: the leader,
     * which reads it, does not count the host as gone, so it counts as a renewal for the silence
     * (only once a renewal record says the agent counts them; see the package notes).
     */
    public void storageRenewed(long sentAt) {
        lastSent = Math.max(lastSent, sentAt);
    }

    /** What the next renewal says: enforcing, unless the last answer asked to stand down. */
    public boolean toSend() {
        return armed && wanted;
    }

    /**
     * A renewal sent at {@code sentAt} succeeded; it said {@code sent} (see {@link #toSend()}), its
     * answer asked for {@code wantArmed}, and it was written at {@code revision}.
     */
    public void renewed(long sentAt, boolean sent, boolean wantArmed, long revision) {
        lastSent = Math.max(lastSent, sentAt);
        wanted = wantArmed;
        if (wantArmed) {
            armed = true;
        } else if (!sent) {
            // the store now says this host does not self-fence: standing down is safe
            armed = false;
        }
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

    /**
     * Whether the watchdog may be petted now; a disarmed agent pets while it lives. After firing it
     * does not, even with its HA guests confirmed gone: the leader calls a fenced host empty (its
     * other guests stopped, deletions finished for it), and the reset makes that true.
     */
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
