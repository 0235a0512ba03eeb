package io.halcyon.model.compute;

/** Nova's {@code OS-EXT-STS:power_state}: what the hypervisor last said about the guest. */
public enum PowerState {
    NOSTATE(0),
    RUNNING(1),
    PAUSED(3),
    SHUTDOWN(4),
    CRASHED(6),
    SUSPENDED(7);

    private final int code;

    PowerState(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
