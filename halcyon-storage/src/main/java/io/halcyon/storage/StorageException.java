package io.halcyon.storage;

/** A storage operation failed; the message says what and why, for a volume's fail reason. */
public class StorageException extends Exception {
    public StorageException(String message) {
        super(message);
    }

    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
