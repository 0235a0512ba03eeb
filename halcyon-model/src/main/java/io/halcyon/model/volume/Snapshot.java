package io.halcyon.model.volume;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/** A Cinder snapshot: a point-in-time copy of a volume, from which new volumes can be made. */
public record Snapshot(String id, String projectId, String userId, String volumeId, String name, String description, int sizeGb,
                       SnapshotStatus status, Map<String, String> metadata, String failReason, Instant createdAt, Instant updatedAt) {
    public Snapshot {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(volumeId, "volumeId is null");
        requireNonNull(status, "status is null");
        metadata = metadata == null ? Map.of() : Map.copyOf(new TreeMap<>(metadata));
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public Snapshot withStatus(SnapshotStatus s, String reason, Instant now) {
        return new Snapshot(id, projectId, userId, volumeId, name, description, sizeGb, s, metadata, reason, createdAt, now);
    }

    public Snapshot withDetails(String n, String d, Map<String, String> md, Instant now) {
        return new Snapshot(id, projectId, userId, volumeId, n, d, sizeGb, status, md, failReason, createdAt, now);
    }
}
