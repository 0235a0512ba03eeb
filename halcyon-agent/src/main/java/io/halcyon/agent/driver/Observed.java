package io.halcyon.agent.driver;

import io.halcyon.model.compute.PowerState;

import java.util.Set;

/**
 * What the driver knows of one guest: the placement epoch it was created for, whether its process
 * runs, the guest's power state, the last reboot generation carried out, how long QEMU took to
 * start it the last time, and which volumes and NICs (by port id) are plugged into it now.
 * {@code stopped}: its process is not running because the agent stopped it (not a crash).
 */
public record Observed(String serverId, long epoch, boolean alive, PowerState power, long rebootDone, long qemuStartMillis,
                       Set<String> volumes, Set<String> nics, boolean stopped) {
    public Observed {
        volumes = volumes == null ? Set.of() : Set.copyOf(volumes);
        nics = nics == null ? Set.of() : Set.copyOf(nics);
    }

    public Observed(String serverId, long epoch, boolean alive, PowerState power, long rebootDone, long qemuStartMillis,
                    Set<String> volumes, Set<String> nics) {
        this(serverId, epoch, alive, power, rebootDone, qemuStartMillis, volumes, nics, false);
    }

    public Observed(String serverId, long epoch, boolean alive, PowerState power, long rebootDone, long qemuStartMillis,
                    Set<String> volumes) {
        this(serverId, epoch, alive, power, rebootDone, qemuStartMillis, volumes, Set.of(), false);
    }
}
