package io.halcyon.model.compute;

/** Whether the user wants the guest running. */
public enum PowerIntent {
    ON,
    OFF
}
