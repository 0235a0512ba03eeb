package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * The HA state of a host as the leader last decided it: {@code state} is one of up, suspect,
 * down, fencing, fenced, unfenceable, maintenance; {@code reason} carries the evidence.
 * {@code fencedBeat} is the revision of the renewal record the fence decision saw: a renewal
 * with another revision means the host came back. {@code storageFence} lists the entries the
 * leader put on the storage's blocklist for the host, which it removes once the host has rejoined
 * empty (kept here so a new leader can).
 */
public record HostHaStatus(String host, String state, Instant since, String reason, long fencedBeat, java.util.List<String> storageFence) {
    public HostHaStatus {
        requireNonNull(host, "host is null");
        requireNonNull(state, "state is null");
        requireNonNull(since, "since is null");
        storageFence = storageFence == null ? java.util.List.of() : java.util.List.copyOf(storageFence);
    }

    public HostHaStatus(String host, String state, Instant since, String reason, long fencedBeat) {
        this(host, state, since, reason, fencedBeat, java.util.List.of());
    }

    public HostHaStatus withStorageFence(java.util.List<String> entries) {
        return new HostHaStatus(host, state, since, reason, fencedBeat, entries);
    }

    public static HostHaStatus initial(String host, Instant now) {
        return new HostHaStatus(host, "up", now, "registered", 0);
    }
}
