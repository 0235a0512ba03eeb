package io.halcyon.ha;

import java.util.Locale;

/**
 * A host as the HA monitor sees it. UP and SUSPECT hosts run their guests; DOWN hosts missed
 * their lease; FENCING hosts are being powered off or are waiting out their self-fence deadline;
 * FENCED hosts are known not to run anything (their HA guests may start elsewhere); UNFENCEABLE
 * hosts are down with no way to prove it, so their guests stay where they are; MAINTENANCE hosts
 * take no new guests and are never fenced. ISOLATED hosts are cut from the control plane but still
 * write their heartbeat on the shared storage: alive, so their guests stay and nothing is fenced.
 */
public enum HostHaState {
    UP, SUSPECT, DOWN, FENCING, FENCED, UNFENCEABLE, MAINTENANCE, ISOLATED;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether guests of a host in this state may be counted as running there. */
    public boolean mayRunGuests() {
        return this != FENCED;
    }
}
