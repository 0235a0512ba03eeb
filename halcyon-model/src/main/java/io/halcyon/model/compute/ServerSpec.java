package io.halcyon.model.compute;

import com.fasterxml.jackson.annotation.JsonCreator;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * What the user asked for. Reboots are requests counted by {@code rebootGeneration}: the agent
 * performs one reboot each time the generation rises past the one it last completed, so a
 * request is never lost or applied twice however often reconcilers run. {@code nics} are the
 * guest's network ports in PCI order.
 */
public record ServerSpec(String name, String description, FlavorSnapshot flavor, String imageId, Map<String, String> metadata,
                         String userData, boolean configDrive, String keyName, String availabilityZone,
                         String accessIPv4, String accessIPv6, PowerIntent power, long rebootGeneration,
                         RebootType rebootType, boolean deleted, List<BlockDevice> blockDevices, List<Nic> nics) {
    @JsonCreator
    public ServerSpec {
        requireNonNull(name, "name is null");
        requireNonNull(flavor, "flavor is null");
        imageId = imageId == null ? "" : imageId;
        metadata = metadata == null ? Map.of() : Map.copyOf(new TreeMap<>(metadata));
        requireNonNull(power, "power is null");
        rebootType = rebootType == null ? RebootType.SOFT : rebootType;
        accessIPv4 = accessIPv4 == null ? "" : accessIPv4;
        accessIPv6 = accessIPv6 == null ? "" : accessIPv6;
        blockDevices = blockDevices == null ? List.of() : List.copyOf(blockDevices);
        nics = nics == null ? List.of() : List.copyOf(nics);
    }

    public ServerSpec(String name, String description, FlavorSnapshot flavor, String imageId, Map<String, String> metadata,
                      String userData, boolean configDrive, String keyName, String availabilityZone,
                      String accessIPv4, String accessIPv6, PowerIntent power, long rebootGeneration,
                      RebootType rebootType, boolean deleted, List<BlockDevice> blockDevices) {
        this(name, description, flavor, imageId, metadata, userData, configDrive, keyName, availabilityZone, accessIPv4, accessIPv6,
                power, rebootGeneration, rebootType, deleted, blockDevices, List.of());
    }

    public ServerSpec withNics(List<Nic> n) {
        return new ServerSpec(name, description, flavor, imageId, metadata, userData, configDrive, keyName, availabilityZone,
                accessIPv4, accessIPv6, power, rebootGeneration, rebootType, deleted, blockDevices, n);
    }

    public ServerSpec withBlockDevices(List<BlockDevice> devices) {
        return new ServerSpec(name, description, flavor, imageId, metadata, userData, configDrive, keyName, availabilityZone,
                accessIPv4, accessIPv6, power, rebootGeneration, rebootType, deleted, devices, nics);
    }

    /** The root volume of a server booted from a volume, or null. */
    public BlockDevice rootVolume() {
        for (BlockDevice b : blockDevices) {
            if (b.root()) {
                return b;
            }
        }
        return null;
    }

    public ServerSpec withPower(PowerIntent p) {
        return new ServerSpec(name, description, flavor, imageId, metadata, userData, configDrive, keyName, availabilityZone,
                accessIPv4, accessIPv6, p, rebootGeneration, rebootType, deleted, blockDevices, nics);
    }

    public ServerSpec withReboot(RebootType type) {
        return new ServerSpec(name, description, flavor, imageId, metadata, userData, configDrive, keyName, availabilityZone,
                accessIPv4, accessIPv6, power, rebootGeneration + 1, type, deleted, blockDevices, nics);
    }

    public ServerSpec withDeleted() {
        return new ServerSpec(name, description, flavor, imageId, metadata, userData, configDrive, keyName, availabilityZone,
                accessIPv4, accessIPv6, power, rebootGeneration, rebootType, true, blockDevices, nics);
    }

    public ServerSpec withName(String n) {
        return new ServerSpec(n, description, flavor, imageId, metadata, userData, configDrive, keyName, availabilityZone,
                accessIPv4, accessIPv6, power, rebootGeneration, rebootType, deleted, blockDevices, nics);
    }

    public ServerSpec withDescription(String d) {
        return new ServerSpec(name, d, flavor, imageId, metadata, userData, configDrive, keyName, availabilityZone,
                accessIPv4, accessIPv6, power, rebootGeneration, rebootType, deleted, blockDevices, nics);
    }

    public ServerSpec withMetadata(Map<String, String> m) {
        return new ServerSpec(name, description, flavor, imageId, m, userData, configDrive, keyName, availabilityZone,
                accessIPv4, accessIPv6, power, rebootGeneration, rebootType, deleted, blockDevices, nics);
    }

    public ServerSpec withAccessIPs(String v4, String v6) {
        return new ServerSpec(name, description, flavor, imageId, metadata, userData, configDrive, keyName, availabilityZone,
                v4, v6, power, rebootGeneration, rebootType, deleted, blockDevices, nics);
    }
}
