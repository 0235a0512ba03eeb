package io.halcyon.scheduler;

/** What the scheduler knows of one host when it decides: capacity, reservations, claims, health. */
public record HostState(String name, boolean up, boolean enabled, int cpus, int ramMb, int diskGb, int reservedCpus,
                        int reservedRamMb, int reservedDiskGb, int usedVcpus, int usedRamMb, int usedDiskGb, int instances) {
}
