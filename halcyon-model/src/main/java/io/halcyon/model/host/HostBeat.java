package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * A host's last lease renewal, rewritten on every renewal. The leader notes when it sees the record
 * change, on its own clock; {@code armed} is whether the agent enforced its self-fence when it sent
 * the renewal. It outlives the lease, so a leader elected after the host went silent still knows
 * whether the host was self-fencing; an agent that stops cleanly says it no longer is.
 * {@code witness}: the agent counts its heartbeats on the shared storage as renewals too, so it
 * does not self-fence while it can write them (the leader must then see them silent as well).
 */
public record HostBeat(String host, long leaseId, String bootId, long seq, boolean armed, Instant at, boolean witness) {
    public HostBeat {
        requireNonNull(host, "host is null");
        requireNonNull(at, "at is null");
    }

    public HostBeat(String host, long leaseId, String bootId, long seq, boolean armed, Instant at) {
        this(host, leaseId, bootId, seq, armed, at, false);
    }
}
