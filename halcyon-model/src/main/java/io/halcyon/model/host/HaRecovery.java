package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * An HA server whose host was fenced and that waits to be restarted elsewhere. It exists from the
 * fence until the server is placed again (or deleted), so a new leader finishes what the old one
 * began. {@code requestId} names the server's "evacuate" instance action.
 */
public record HaRecovery(String serverId, String fromHost, String requestId, Instant since) {
    public HaRecovery {
        requireNonNull(serverId, "serverId is null");
        requireNonNull(fromHost, "fromHost is null");
        requireNonNull(requestId, "requestId is null");
        requireNonNull(since, "since is null");
    }
}
