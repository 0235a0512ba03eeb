package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * The HA state of a host as the leader last decided it: {@code state} is one of up, suspect,
 * down, fencing, fenced, unfenceable, maintenance; {@code reason} carries the evidence.
 * {@code fencedBeat} is the revision of the renewal record the fence decision saw: a renewal
 * with another revision means the host came back.
 */
public record HostHaStatus(String host, String state, Instant since, String reason, long fencedBeat) {
    public HostHaStatus {
        requireNonNull(host, "host is null");
        requireNonNull(state, "state is null");
        requireNonNull(since, "since is null");
    }

    public static HostHaStatus initial(String host, Instant now) {
        return new HostHaStatus(host, "up", now, "registered", 0);
    }
}
