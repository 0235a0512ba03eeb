package io.halcyon.model.compute;

/** SOFT asks the guest through ACPI and falls back to HARD on timeout; HARD restarts QEMU. */
public enum RebootType {
    SOFT,
    HARD
}
