package io.halcyon.model.identity;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * A user locked out after too many failed logins in a row (Keystone's lockout): no password is
 * accepted for it before {@code until}, on any controller.
 */
public record Lockout(String userId, Instant until, int failures) {
    public Lockout {
        requireNonNull(userId, "userId is null");
        requireNonNull(until, "until is null");
    }

    public boolean active(Instant now) {
        return now.isBefore(until);
    }
}
