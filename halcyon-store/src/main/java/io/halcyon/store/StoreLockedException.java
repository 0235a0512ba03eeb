package io.halcyon.store;

/** Another process holds the store's file lock. */
public class StoreLockedException extends StoreException {
    public StoreLockedException(String message) {
        super(message);
    }
}
