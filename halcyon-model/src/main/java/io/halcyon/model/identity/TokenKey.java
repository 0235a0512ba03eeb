package io.halcyon.model.identity;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/** A token signing key shared by every controller (HMAC-SHA256); {@code secret} is base64. */
public record TokenKey(String id, String secret, Instant createdAt) {
    public TokenKey {
        requireNonNull(id, "id is null");
        requireNonNull(secret, "secret is null");
        requireNonNull(createdAt, "createdAt is null");
    }
}
