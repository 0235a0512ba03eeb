package io.halcyon.ha;

import java.time.Duration;

import static java.util.Objects.requireNonNull;

/**
 * One host as the leader sees it on a tick. {@code beatRevision} identifies the host's renewal
 * record, which is written only on a transition (a new lease, a change of {@code armed}, the first
 * renewal after a self-fence or while the host is not up): it is the fencing token of a decision to
 * fence. {@code heard} changes with every renewal the leader learns of, written one by one or in a
 * controller's batch; a new value is a renewal. {@code armed} is what the record says: whether the
 * agent enforces its self-fence. {@code witness} is what the record says too: the agent counts its
 * heartbeats on the shared storage as renewals; {@code witnessBeat} changes whenever the leader
 * reads a new one (0: none read). {@code watchdog} is the timeout of the
 * host's watchdog (null: none). {@code state} and {@code fencedBeat} are what the store holds.
 * The free capacity counts only when the host is {@code schedulable} (enabled).
 */
public record HostInput(String name, long beatRevision, long heard, boolean armed, boolean witness, long witnessBeat, boolean bmc, Duration watchdog, boolean maintenance,
                        boolean disarmed, HostHaState state, long fencedBeat, boolean schedulable, int freeVcpus, int freeRamMb,
                        int freeDiskGb) {
    public HostInput {
        requireNonNull(name, "name is null");
        requireNonNull(state, "state is null");
    }
}
