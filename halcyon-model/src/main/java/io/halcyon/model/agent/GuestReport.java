package io.halcyon.model.agent;

import io.halcyon.model.compute.PowerState;

import static java.util.Objects.requireNonNull;

/**
 * What an agent observed of one guest. {@code gone} means the guest and its disks are removed;
 * {@code fault} says why an operation failed; {@code rebootGeneration} is the last reboot done.
 */
public record GuestReport(String serverId, long epoch, PowerState powerState, long rebootGeneration, boolean gone,
                          String fault, long qemuStartMillis) {
    public GuestReport {
        requireNonNull(serverId, "serverId is null");
        requireNonNull(powerState, "powerState is null");
    }
}
