package io.halcyon.model.volume;

import java.time.Duration;
import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * A schedule and a retention for the backups of one volume, or of every volume of a project
 * ({@code volumeId} null): the leader takes a backup of each volume every {@code interval}, a full
 * one every {@code fullEvery} backups and incrementals between, and keeps what the retention keeps.
 */
public record BackupPolicy(String id, String projectId, String volumeId, Duration interval, int fullEvery, int keepLast, int keepDaily,
                           int keepWeekly, int keepMonthly, boolean enabled, Instant lastRunAt, Instant createdAt, Instant updatedAt) {
    public BackupPolicy {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(interval, "interval is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public BackupPolicy ran(Instant at) {
        return new BackupPolicy(id, projectId, volumeId, interval, fullEvery, keepLast, keepDaily, keepWeekly, keepMonthly, enabled, at,
                createdAt, at);
    }

    /** Due at once: the next pass of the leader runs it. */
    public BackupPolicy runNow(Instant now) {
        return new BackupPolicy(id, projectId, volumeId, interval, fullEvery, keepLast, keepDaily, keepWeekly, keepMonthly, enabled, null,
                createdAt, now);
    }

    public boolean due(Instant now) {
        return enabled && (lastRunAt == null || !now.isBefore(lastRunAt.plus(interval)));
    }
}
