package io.halcyon.model.agent;

import io.halcyon.model.compute.PowerState;

import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * What an agent observed of one guest. {@code gone} means the guest and its disks are removed;
 * {@code fault} says why an operation failed; {@code rebootGeneration} is the last reboot done;
 * {@code attachedVolumes} are the volumes the guest has now (plugged, or on its next boot if it is off);
 * {@code volumeFaults} name the volumes the agent gave up plugging in or unplugging, and why.
 */
public record GuestReport(String serverId, long epoch, PowerState powerState, long rebootGeneration, boolean gone,
                          String fault, long qemuStartMillis, List<String> attachedVolumes, Map<String, String> volumeFaults) {
    public GuestReport {
        requireNonNull(serverId, "serverId is null");
        requireNonNull(powerState, "powerState is null");
        attachedVolumes = attachedVolumes == null ? List.of() : List.copyOf(attachedVolumes);
        volumeFaults = volumeFaults == null ? Map.of() : Map.copyOf(volumeFaults);
    }
}
