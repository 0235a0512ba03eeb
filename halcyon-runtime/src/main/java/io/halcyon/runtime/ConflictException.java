package io.halcyon.runtime;

/** A compare-and-swap lost: the resource changed (or appeared, or vanished) since it was read. */
public class ConflictException extends RuntimeException {
    public ConflictException(String message) {
        super(message);
    }
}
