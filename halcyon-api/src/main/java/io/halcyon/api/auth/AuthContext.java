package io.halcyon.api.auth;

import io.halcyon.model.identity.Role;

import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * The authenticated caller of one request, all taken from its signed token: no store read.
 * Roles are the built-in names; admin implies member implies reader.
 */
public record AuthContext(String userId, String userName, String projectId, String projectName, Set<String> roles,
                          String auditId, Instant issuedAt, Instant expiresAt, List<String> methods, boolean agent) {
    public AuthContext {
        roles = roles == null ? Set.of() : Set.copyOf(roles);
        methods = methods == null ? List.of() : List.copyOf(methods);
    }

    public static AuthContext agentCaller() {
        return new AuthContext("agent", "agent", null, null, Set.of(), null, Instant.EPOCH, Instant.MAX, List.of(), true);
    }

    /** The cloud acting on its own behalf for a project (ports a router or floating IP needs): admin rights, no user. */
    public static AuthContext system(String projectId) {
        return new AuthContext("halcyon", "halcyon", projectId, null, Set.of(Role.ADMIN), null, Instant.EPOCH, Instant.MAX, List.of(), false);
    }

    public boolean isAdmin() {
        return roles.contains(Role.ADMIN);
    }

    public boolean isMember() {
        return isAdmin() || roles.contains(Role.MEMBER);
    }

    public boolean isReader() {
        return isMember() || roles.contains(Role.READER);
    }

    public boolean scoped() {
        return projectId != null;
    }
}
