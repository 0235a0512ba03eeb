package io.halcyon.model.compute;

import com.fasterxml.jackson.annotation.JsonValue;

/** Nova's {@code OS-EXT-STS:vm_state}: the stable state a server rests in. */
public enum VmState {
    BUILDING("building"),
    ACTIVE("active"),
    STOPPED("stopped"),
    ERROR("error"),
    DELETED("deleted");

    private final String wire;

    VmState(String wire) {
        this.wire = wire;
    }

    @JsonValue
    public String wire() {
        return wire;
    }
}
