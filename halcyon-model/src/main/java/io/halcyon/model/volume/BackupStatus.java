package io.halcyon.model.volume;

import com.fasterxml.jackson.annotation.JsonValue;

/** Cinder's backup states. */
public enum BackupStatus {
    CREATING("creating"),
    AVAILABLE("available"),
    DELETING("deleting"),
    RESTORING("restoring"),
    ERROR("error"),
    ERROR_DELETING("error_deleting");

    private final String wire;

    BackupStatus(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }
}
