package io.halcyon.model.compute;

import java.time.Instant;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * A Nova server group: its members go on different hosts ({@code anti-affinity}) or on one host
 * ({@code affinity}), when they are first placed and, for anti-affinity, when HA restarts them.
 * Members are added when a server is created into the group; deleted servers simply stop counting.
 */
public record ServerGroup(String id, String name, String projectId, String userId, String policy, List<String> members,
                          Instant createdAt) {
    public static final String ANTI_AFFINITY = "anti-affinity";
    public static final String AFFINITY = "affinity";

    public ServerGroup {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(policy, "policy is null");
        requireNonNull(createdAt, "createdAt is null");
        members = members == null ? List.of() : List.copyOf(members);
    }

    public ServerGroup withMembers(List<String> m) {
        return new ServerGroup(id, name, projectId, userId, policy, m, createdAt);
    }
}
