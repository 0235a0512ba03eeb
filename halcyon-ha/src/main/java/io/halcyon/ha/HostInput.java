package io.halcyon.ha;

import java.time.Duration;

import static java.util.Objects.requireNonNull;

/**
 * One host as the leader sees it on a tick. {@code beatRevision} identifies the last renewal
 * record (0: none, e.g. its lease expired); a new value is a renewal. {@code armed} is what that
 * renewal said: whether the agent enforces its self-fence. {@code watchdog} is the timeout of the
 * host's watchdog (null: none). {@code state} and {@code fencedBeat} are what the store holds.
 * The free capacity counts only when the host is {@code schedulable} (enabled).
 */
public record HostInput(String name, long beatRevision, boolean armed, boolean bmc, Duration watchdog, boolean maintenance,
                        boolean disarmed, HostHaState state, long fencedBeat, boolean schedulable, int freeVcpus, int freeRamMb,
                        int freeDiskGb) {
    public HostInput {
        requireNonNull(name, "name is null");
        requireNonNull(state, "state is null");
    }
}
