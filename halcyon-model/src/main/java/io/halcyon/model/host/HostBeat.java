package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * A host's last lease renewal, rewritten on every renewal and attached to the host's lease (so it
 * disappears when the lease does). The leader notes when it sees the record change, on its own
 * clock; {@code armed} is whether the agent enforced its self-fence when it sent the renewal.
 */
public record HostBeat(String host, long leaseId, String bootId, long seq, boolean armed, Instant at) {
    public HostBeat {
        requireNonNull(host, "host is null");
        requireNonNull(at, "at is null");
    }
}
