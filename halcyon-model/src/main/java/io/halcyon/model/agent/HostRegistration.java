package io.halcyon.model.agent;

import static java.util.Objects.requireNonNull;

/** What an agent tells the controller about its host when it starts. */
public record HostRegistration(String name, int cpus, int ramMb, int diskGb, int reservedCpus, int reservedRamMb,
                               int reservedDiskGb, String accel, String arch, String cpuModel, String hypervisorVersion,
                               String endpoint, String agentVersion, String bootId) {
    public HostRegistration {
        requireNonNull(name, "name is null");
    }
}
