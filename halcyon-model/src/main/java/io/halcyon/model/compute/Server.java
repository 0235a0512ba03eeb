package io.halcyon.model.compute;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/** A server (Nova instance): identity and ownership, the user's spec, and the cloud's status. */
public record Server(String id, String projectId, String userId, Instant createdAt, ServerSpec spec, ServerStatus status) {
    public Server {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(userId, "userId is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(spec, "spec is null");
        requireNonNull(status, "status is null");
    }

    public Server withSpec(ServerSpec s) {
        return new Server(id, projectId, userId, createdAt, s, status);
    }

    public Server withStatus(ServerStatus s) {
        return new Server(id, projectId, userId, createdAt, spec, s);
    }

    public boolean placed() {
        return status.host() != null;
    }
}
