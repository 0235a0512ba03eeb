package io.halcyon.model.identity;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/** A user; {@code passwordHash} is an argon2id PHC string, never the password. */
public record User(String id, String name, String domainId, String defaultProjectId, String description, String email,
                   boolean enabled, String passwordHash, Instant createdAt) {
    public User {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(domainId, "domainId is null");
        description = description == null ? "" : description;
        requireNonNull(createdAt, "createdAt is null");
    }

    public User withName(String n) {
        return new User(id, n, domainId, defaultProjectId, description, email, enabled, passwordHash, createdAt);
    }

    public User withDefaultProjectId(String p) {
        return new User(id, name, domainId, p, description, email, enabled, passwordHash, createdAt);
    }

    public User withDescription(String d) {
        return new User(id, name, domainId, defaultProjectId, d, email, enabled, passwordHash, createdAt);
    }

    public User withEmail(String e) {
        return new User(id, name, domainId, defaultProjectId, description, e, enabled, passwordHash, createdAt);
    }

    public User withEnabled(boolean e) {
        return new User(id, name, domainId, defaultProjectId, description, email, e, passwordHash, createdAt);
    }

    public User withPasswordHash(String h) {
        return new User(id, name, domainId, defaultProjectId, description, email, enabled, h, createdAt);
    }
}
