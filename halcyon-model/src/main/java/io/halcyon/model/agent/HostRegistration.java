package io.halcyon.model.agent;

import static java.util.Objects.requireNonNull;

/** What an agent tells the controller about its host when it starts; {@code watchdogTimeoutMillis} 0 means no watchdog. */
public record HostRegistration(String name, int cpus, int ramMb, int diskGb, int reservedCpus, int reservedRamMb,
                               int reservedDiskGb, String accel, String arch, String cpuModel, String hypervisorVersion,
                               String endpoint, String agentVersion, String bootId, long watchdogTimeoutMillis) {
    public HostRegistration {
        requireNonNull(name, "name is null");
    }

    /** The same, with the watchdog timeout the device itself reported. */
    public HostRegistration withWatchdogTimeoutMillis(long millis) {
        return new HostRegistration(name, cpus, ramMb, diskGb, reservedCpus, reservedRamMb, reservedDiskGb, accel, arch, cpuModel,
                hypervisorVersion, endpoint, agentVersion, bootId, millis);
    }

    public HostRegistration(String name, int cpus, int ramMb, int diskGb, int reservedCpus, int reservedRamMb, int reservedDiskGb,
                            String accel, String arch, String cpuModel, String hypervisorVersion, String endpoint, String agentVersion,
                            String bootId) {
        this(name, cpus, ramMb, diskGb, reservedCpus, reservedRamMb, reservedDiskGb, accel, arch, cpuModel, hypervisorVersion, endpoint,
                agentVersion, bootId, 0);
    }
}
