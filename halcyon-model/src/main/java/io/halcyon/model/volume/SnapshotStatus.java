package io.halcyon.model.volume;

import com.fasterxml.jackson.annotation.JsonValue;

/** Cinder's snapshot states. */
public enum SnapshotStatus {
    CREATING("creating"),
    AVAILABLE("available"),
    DELETING("deleting"),
    ERROR("error"),
    ERROR_DELETING("error_deleting");

    private final String wire;

    SnapshotStatus(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }
}
