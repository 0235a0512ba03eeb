package io.halcyon.ha;

import java.util.List;

/** What the monitor decided on one tick; the caller applies each with the leader's fencing token. */
public sealed interface HaAction {
    /**
     * A host changes state. {@code beatRevision} is the renewal record the decision saw; the write
     * into FENCED compares it, so a renewal that lands in between makes the fence fail.
     */
    record Transition(String host, HostHaState from, HostHaState to, String reason, long beatRevision) implements HaAction {
    }

    /**
     * The guests of a fenced host that still want to run: {@code stop} (not HA) go SHUTOFF,
     * {@code recover} (HA) wait to be restarted elsewhere. Repeated on later ticks until none is
     * left, so a leader that dies half way is finished by the next; the host rejoins only after.
     */
    record Dispose(String host, List<String> stop, List<String> recover) implements HaAction {
        public Dispose {
            stop = List.copyOf(stop);
            recover = List.copyOf(recover);
        }
    }

    /** Power the host off through its BMC and confirm it is off; the outcome comes back as a {@link BmcOutcome}. */
    record PowerOff(String host, String token, String evidence) implements HaAction {
    }

    /** Restart an HA guest of a fenced host on {@code to}, at epoch {@code epoch + 1}. */
    record Evacuate(String serverId, String from, String to, long epoch, int priority) implements HaAction {
    }

    /** An HA guest waiting for recovery fits nowhere now; it shows {@code reason} and is tried again. */
    record Unplaceable(String serverId, String host, String reason) implements HaAction {
    }

    /** The brake: too many hosts look down at once, so nobody is fenced until that changes. */
    record Alarm(boolean raised, String reason) implements HaAction {
    }
}
