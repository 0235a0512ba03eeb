package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * Present exactly while a host's agent keeps its store lease alive: the key is attached to the
 * lease, so the store deletes it when the agent stops renewing.
 */
public record HostLease(String host, long leaseId, String bootId, Instant grantedAt) {
    public HostLease {
        requireNonNull(host, "host is null");
        requireNonNull(grantedAt, "grantedAt is null");
    }
}
