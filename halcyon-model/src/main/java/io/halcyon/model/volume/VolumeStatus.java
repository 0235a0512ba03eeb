package io.halcyon.model.volume;

import com.fasterxml.jackson.annotation.JsonValue;

/** Cinder's volume states. */
public enum VolumeStatus {
    CREATING("creating"),
    DOWNLOADING("downloading"),
    AVAILABLE("available"),
    ATTACHING("attaching"),
    IN_USE("in-use"),
    DETACHING("detaching"),
    EXTENDING("extending"),
    UPLOADING("uploading"),
    BACKING_UP("backing-up"),
    RESTORING_BACKUP("restoring-backup"),
    DELETING("deleting"),
    ERROR("error"),
    ERROR_DELETING("error_deleting"),
    ERROR_EXTENDING("error_extending"),
    ERROR_RESTORING("error_restoring");

    private final String wire;

    VolumeStatus(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }

    /** States that last: everything else is work in progress that a reconciler finishes. */
    public boolean stable() {
        return switch (this) {
            case AVAILABLE, IN_USE, ERROR, ERROR_DELETING, ERROR_EXTENDING, ERROR_RESTORING -> true;
            default -> false;
        };
    }
}
