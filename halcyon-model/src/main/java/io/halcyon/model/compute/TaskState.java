package io.halcyon.model.compute;

import com.fasterxml.jackson.annotation.JsonValue;

/** Nova's {@code OS-EXT-STS:task_state}: the operation in progress, if any. */
public enum TaskState {
    SCHEDULING("scheduling"),
    SPAWNING("spawning"),
    POWERING_OFF("powering-off"),
    POWERING_ON("powering-on"),
    REBOOTING("rebooting"),
    REBOOTING_HARD("rebooting_hard"),
    DELETING("deleting"),
    /** Nova's task while an instance is evacuated: here, restarted elsewhere after its host was fenced. */
    REBUILDING("rebuilding");

    private final String wire;

    TaskState(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }
}
