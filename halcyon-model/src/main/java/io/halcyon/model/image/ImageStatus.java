package io.halcyon.model.image;

import com.fasterxml.jackson.annotation.JsonValue;

/** Glance's image states. */
public enum ImageStatus {
    QUEUED("queued"),
    SAVING("saving"),
    ACTIVE("active"),
    KILLED("killed"),
    DELETED("deleted"),
    PENDING_DELETE("pending_delete"),
    DEACTIVATED("deactivated");

    private final String wire;

    ImageStatus(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }
}
