package io.halcyon.ovsdb;

/** The OVSDB server refused a request, or the connection to it failed. */
public class OvsdbException extends RuntimeException {
    public OvsdbException(String message) {
        super(message);
    }

    public OvsdbException(String message, Throwable cause) {
        super(message, cause);
    }
}
