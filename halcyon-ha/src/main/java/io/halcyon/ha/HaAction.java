package io.halcyon.ha;

import java.util.List;

/** What the monitor decided on one tick; the caller applies each with the leader's fencing token. */
public sealed interface HaAction {
    /**
     * A host changes state. Into FENCED it carries the dispositions, applied in the same write:
     * {@code stop} (not HA: SHUTOFF) and {@code recover} (HA: to be restarted elsewhere), and
     * {@code beatRevision}, the renewal the decision saw, which that write compares.
     */
    record Transition(String host, HostHaState from, HostHaState to, String reason, long beatRevision, List<String> stop,
                      List<String> recover) implements HaAction {
        public Transition {
            stop = stop == null ? List.of() : List.copyOf(stop);
            recover = recover == null ? List.of() : List.copyOf(recover);
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
