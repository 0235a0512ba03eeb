package io.halcyon.runtime;

import static java.util.Objects.requireNonNull;

/** A resource value and the store mod revision it was read at: the version for compare-and-swap. */
public record Versioned<T>(T value, long revision) {
    public Versioned {
        requireNonNull(value, "value is null");
    }
}
