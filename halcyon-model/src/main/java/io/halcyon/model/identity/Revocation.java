package io.halcyon.model.identity;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * Tokens matching this event and issued at or before {@code issuedBefore} are invalid. A null
 * field matches anything; {@code expiresAt} is when the event can be forgotten because every token
 * it could match has expired anyway.
 */
public record Revocation(String id, String userId, String projectId, String auditId, Instant issuedBefore, Instant expiresAt) {
    public Revocation {
        requireNonNull(id, "id is null");
        requireNonNull(issuedBefore, "issuedBefore is null");
        requireNonNull(expiresAt, "expiresAt is null");
    }

    public boolean matches(String tokenUserId, String tokenProjectId, String tokenAuditId, Instant issuedAt) {
        return (userId == null || userId.equals(tokenUserId))
                && (projectId == null || projectId.equals(tokenProjectId))
                && (auditId == null || auditId.equals(tokenAuditId))
                && !issuedAt.isAfter(issuedBefore);
    }
}
