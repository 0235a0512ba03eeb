package io.halcyon.store;

/** The store cannot serve the request now (no quorum, unreachable, timed out); it may later. */
public class StoreUnavailableException extends StoreException {
    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
