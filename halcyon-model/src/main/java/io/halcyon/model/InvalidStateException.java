package io.halcyon.model;

/** A requested transition is not valid from the resource's current state (HTTP 409 at the API). */
public class InvalidStateException extends RuntimeException {
    public InvalidStateException(String message) {
        super(message);
    }
}
