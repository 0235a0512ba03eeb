package io.halcyon.model.compute;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/** Why a server is in ERROR, as Nova shows it in {@code fault}. */
public record Fault(int code, String message, String details, Instant created) {
    public Fault {
        requireNonNull(message, "message is null");
        details = details == null ? "" : details;
        requireNonNull(created, "created is null");
    }

    public static final String NO_VALID_HOST = "No valid host was found. There are not enough hosts available.";
}
