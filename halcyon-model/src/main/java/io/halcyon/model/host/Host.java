package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * A compute host as its agent registered it. Liveness is not a field: the host is up while its
 * lease key exists (see {@code HostLease} in the runtime), so a dead agent cannot leave it "up".
 * {@code bootId} changes on every agent start; {@code endpoint} is the agent's own HTTP address;
 * {@code seq} is the small integer id the 2.1 compute API shows for hypervisors and services;
 * {@code watchdogTimeoutMillis} is the timeout of the watchdog its agent pets (0: none).
 */
public record Host(String name, String id, long seq, int cpus, int ramMb, int diskGb, int reservedCpus, int reservedRamMb,
                   int reservedDiskGb, String accel, String arch, String cpuModel, String hypervisorVersion,
                   String endpoint, String agentVersion, String bootId, long leaseId, boolean enabled,
                   String disabledReason, Instant registeredAt, Instant updatedAt, long watchdogTimeoutMillis) {
    public Host {
        requireNonNull(name, "name is null");
        requireNonNull(id, "id is null");
        requireNonNull(registeredAt, "registeredAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public Host(String name, String id, long seq, int cpus, int ramMb, int diskGb, int reservedCpus, int reservedRamMb,
                int reservedDiskGb, String accel, String arch, String cpuModel, String hypervisorVersion, String endpoint,
                String agentVersion, String bootId, long leaseId, boolean enabled, String disabledReason, Instant registeredAt,
                Instant updatedAt) {
        this(name, id, seq, cpus, ramMb, diskGb, reservedCpus, reservedRamMb, reservedDiskGb, accel, arch, cpuModel, hypervisorVersion,
                endpoint, agentVersion, bootId, leaseId, enabled, disabledReason, registeredAt, updatedAt, 0);
    }

    public Host withEnabled(boolean e, String reason, Instant now) {
        return new Host(name, id, seq, cpus, ramMb, diskGb, reservedCpus, reservedRamMb, reservedDiskGb, accel, arch, cpuModel,
                hypervisorVersion, endpoint, agentVersion, bootId, leaseId, e, reason, registeredAt, now, watchdogTimeoutMillis);
    }
}
