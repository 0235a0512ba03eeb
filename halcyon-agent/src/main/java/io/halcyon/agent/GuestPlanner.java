package io.halcyon.agent;

import io.halcyon.agent.driver.Observed;
import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.DiskSpec;
import io.halcyon.model.compute.PowerIntent;
import io.halcyon.model.compute.PowerState;
import io.halcyon.model.compute.RebootType;

import java.util.HashSet;
import java.util.Set;

/**
 * The agent's decision for one guest, as a pure function of what the controller assigned and what
 * the driver observes. The agent runs the step, observes again and asks again until NONE.
 */
public final class GuestPlanner {
    private GuestPlanner() {
    }

    public enum Step {
        /** Nothing to do. */
        NONE,
        /** Prepare the disks if needed and start the guest. */
        SPAWN,
        /** Power the guest off (ACPI, then stop QEMU). */
        POWER_OFF,
        /** ACPI power-off, then reset in place; falls back to a hard reboot. */
        SOFT_REBOOT,
        /** Stop QEMU and start it again with a fresh command line. */
        HARD_REBOOT,
        /** Plug and unplug volumes until the guest has exactly the assigned ones. */
        SYNC_VOLUMES,
        /** Plug and unplug NICs until the guest has exactly the assigned ones. */
        SYNC_NICS,
        /** Stop the guest and remove everything of it. */
        DESTROY
    }

    public static Step next(Assignment a, Observed o) {
        return next(a, o, Set.of());
    }

    /** {@code settled} are volumes the agent gave up plugging or unplugging; they do not count as a difference. */
    public static Step next(Assignment a, Observed o, Set<String> settled) {
        if (a == null || a.deleted()) {
            return o == null ? Step.NONE : Step.DESTROY;
        }
        if (o != null && o.epoch() > a.epoch()) {
            // our guest is newer than this assignment: the list is stale, wait for the next one
            return Step.NONE;
        }
        if (o != null && o.epoch() < a.epoch() && o.epoch() != 0) {
            // a leftover of an earlier placement of this server: remove it before starting afresh
            return Step.DESTROY;
        }
        boolean rebootPending = o != null && a.rebootGeneration() > o.rebootDone();
        if (a.power() == PowerIntent.OFF) {
            return o != null && o.alive() ? Step.POWER_OFF : Step.NONE;
        }
        if (o == null || !o.alive()) {
            // a boot volume still being made: wait for the next assignment
            return a.rootDisk() == null ? Step.NONE : Step.SPAWN;
        }
        if (rebootPending) {
            return a.rebootType() == RebootType.HARD || o.power() == PowerState.CRASHED ? Step.HARD_REBOOT : Step.SOFT_REBOOT;
        }
        if (a.ha() && o.power() == PowerState.CRASHED) {
            // an HA guest that panicked or whose watchdog fired is restarted in place (the agent keeps the budget)
            return Step.HARD_REBOOT;
        }
        if (o.power() == PowerState.RUNNING && !without(o.volumes(), settled).equals(without(wantedVolumes(a), settled))) {
            return Step.SYNC_VOLUMES;
        }
        if (o.power() == PowerState.RUNNING && !o.nics().equals(wantedNics(a))) {
            return Step.SYNC_NICS;
        }
        // a guest that powered itself off is reported and stays off: the controller records it as stopped
        return Step.NONE;
    }

    private static Set<String> without(Set<String> s, Set<String> minus) {
        if (minus.isEmpty()) {
            return s;
        }
        var out = new HashSet<>(s);
        out.removeAll(minus);
        return out;
    }

    /** The NICs (port ids) the guest should have. */
    public static Set<String> wantedNics(Assignment a) {
        var out = new HashSet<String>();
        a.nics().forEach(n -> out.add(n.portId()));
        return out;
    }

    /** The hot-pluggable volumes the guest should have (the root disk is not one of them). */
    public static Set<String> wantedVolumes(Assignment a) {
        var out = new HashSet<String>();
        for (DiskSpec d : a.volumes()) {
            out.add(d.volumeId());
        }
        return out;
    }
}
