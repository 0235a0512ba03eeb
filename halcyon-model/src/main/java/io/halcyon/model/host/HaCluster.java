package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * Cluster-wide HA: the operators' "disarmed" switch (no fencing, no self-fencing, no recovery:
 * for maintenance windows) and the leader's alarm (too many hosts look down at once).
 */
public record HaCluster(String id, boolean disarmed, boolean alarm, String alarmReason, Instant updatedAt) {
    public static final String ID = "cluster";

    public HaCluster {
        requireNonNull(id, "id is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public static HaCluster initial(Instant now) {
        return new HaCluster(ID, false, false, null, now);
    }

    public HaCluster withDisarmed(boolean d, Instant now) {
        return new HaCluster(id, d, alarm, alarmReason, now);
    }

    public HaCluster withAlarm(boolean a, String reason, Instant now) {
        return new HaCluster(id, disarmed, a, reason, now);
    }
}
