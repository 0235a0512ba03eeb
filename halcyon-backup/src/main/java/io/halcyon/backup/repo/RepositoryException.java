package io.halcyon.backup.repo;

/** A repository operation that cannot be done; the message is meant for the operator. */
public class RepositoryException extends RuntimeException {
    public RepositoryException(String message) {
        super(message);
    }

    public RepositoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
