package io.halcyon.model.identity;

import static java.util.Objects.requireNonNull;

/** A user holds a role on a project. */
public record RoleAssignment(String projectId, String userId, String roleId) {
    public RoleAssignment {
        requireNonNull(projectId, "projectId is null");
        requireNonNull(userId, "userId is null");
        requireNonNull(roleId, "roleId is null");
    }

    public String id() {
        return projectId + "/" + userId + "/" + roleId;
    }
}
