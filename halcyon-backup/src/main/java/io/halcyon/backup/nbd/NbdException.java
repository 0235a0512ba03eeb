package io.halcyon.backup.nbd;

import java.io.IOException;

/** The NBD server refused a request or broke the protocol. */
public final class NbdException extends IOException {
    public NbdException(String message) {
        super(message);
    }
}
