package io.halcyon.model.agent;

import io.halcyon.model.compute.FlavorSnapshot;
import io.halcyon.model.compute.PowerIntent;
import io.halcyon.model.compute.RebootType;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * One guest the controller wants on this host, with the placement epoch the agent must match.
 * The agent converges its local guest to it: running or not, rebooted up to
 * {@code rebootGeneration}, removed when {@code deleted}, with exactly {@code volumes} attached.
 * {@code rootDisk} is null while the root disk is not ready yet (a boot volume still being made).
 * {@code nics} are its network ports, in the order the guest enumerates them. {@code ha}: the guest
 * is restarted elsewhere if its host fails, so the agent kills it when it self-fences, and restarts
 * it in place (within a budget) when its QEMU dies. {@code backups}: backups of its volumes to take
 * through QEMU while it runs.
 */
public record Assignment(String serverId, long epoch, String name, String projectId, FlavorSnapshot flavor, ImageRef image,
                         String userData, boolean configDrive, String hostname, Map<String, String> metadata,
                         String availabilityZone, PowerIntent power, long rebootGeneration, RebootType rebootType,
                         boolean deleted, Instant createdAt, DiskSpec rootDisk, List<DiskSpec> volumes,
                         List<NicSpec> nics, boolean ha, List<BackupTask> backups) {
    public Assignment {
        requireNonNull(serverId, "serverId is null");
        requireNonNull(flavor, "flavor is null");
        requireNonNull(power, "power is null");
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
        nics = nics == null ? List.of() : List.copyOf(nics);
        backups = backups == null ? List.of() : List.copyOf(backups);
    }

    public Assignment(String serverId, long epoch, String name, String projectId, FlavorSnapshot flavor, ImageRef image,
                      String userData, boolean configDrive, String hostname, Map<String, String> metadata,
                      String availabilityZone, PowerIntent power, long rebootGeneration, RebootType rebootType,
                      boolean deleted, Instant createdAt, DiskSpec rootDisk, List<DiskSpec> volumes, List<NicSpec> nics, boolean ha) {
        this(serverId, epoch, name, projectId, flavor, image, userData, configDrive, hostname, metadata, availabilityZone, power,
                rebootGeneration, rebootType, deleted, createdAt, rootDisk, volumes, nics, ha, List.of());
    }

    public Assignment(String serverId, long epoch, String name, String projectId, FlavorSnapshot flavor, ImageRef image,
                      String userData, boolean configDrive, String hostname, Map<String, String> metadata,
                      String availabilityZone, PowerIntent power, long rebootGeneration, RebootType rebootType,
                      boolean deleted, Instant createdAt, DiskSpec rootDisk, List<DiskSpec> volumes, List<NicSpec> nics) {
        this(serverId, epoch, name, projectId, flavor, image, userData, configDrive, hostname, metadata, availabilityZone, power,
                rebootGeneration, rebootType, deleted, createdAt, rootDisk, volumes, nics, false, List.of());
    }

    /** The same assignment with the guest off: what a fenced host gets until it has rejoined. */
    public Assignment poweredOff() {
        return new Assignment(serverId, epoch, name, projectId, flavor, image, userData, configDrive, hostname, metadata, availabilityZone,
                PowerIntent.OFF, rebootGeneration, rebootType, deleted, createdAt, rootDisk, volumes, nics, ha, List.of());
    }
}
