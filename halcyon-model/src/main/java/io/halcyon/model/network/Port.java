package io.halcyon.model.network;

import java.time.Instant;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * A Neutron port: a NIC's place on a network, with its MAC, its fixed IPs (each held in the store
 * by an {@link IpAllocation}), the security groups its traffic is filtered by, and who owns it
 * ({@code deviceOwner} {@code compute:nova} with the server id, {@code network:router_interface},
 * {@code network:router_gateway} or {@code network:floatingip} with the router or floating IP id).
 * {@code hostId} is the host the port is bound to (binding:host_id), where its guest runs.
 */
public record Port(String id, String projectId, String networkId, String name, String description, boolean adminStateUp,
                   String macAddress, List<FixedIp> fixedIps, String deviceOwner, String deviceId, List<String> securityGroups,
                   boolean portSecurityEnabled, List<AddressPair> allowedAddressPairs, String hostId, String status,
                   Instant createdAt, Instant updatedAt, long revisionNumber) {
    public static final String OWNER_COMPUTE = "compute:nova";
    public static final String OWNER_ROUTER_INTERFACE = "network:router_interface";
    public static final String OWNER_ROUTER_GATEWAY = "network:router_gateway";
    public static final String OWNER_FLOATING_IP = "network:floatingip";
    public static final String OWNER_DHCP = "network:dhcp";

    public record FixedIp(String subnetId, String ipAddress) {
        public FixedIp {
            requireNonNull(subnetId, "subnetId is null");
            requireNonNull(ipAddress, "ipAddress is null");
        }
    }

    public record AddressPair(String ipAddress, String macAddress) {
        public AddressPair {
            requireNonNull(ipAddress, "ipAddress is null");
        }
    }

    public Port {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(networkId, "networkId is null");
        requireNonNull(macAddress, "macAddress is null");
        name = name == null ? "" : name;
        description = description == null ? "" : description;
        fixedIps = fixedIps == null ? List.of() : List.copyOf(fixedIps);
        deviceOwner = deviceOwner == null ? "" : deviceOwner;
        deviceId = deviceId == null ? "" : deviceId;
        securityGroups = securityGroups == null ? List.of() : List.copyOf(securityGroups);
        allowedAddressPairs = allowedAddressPairs == null ? List.of() : List.copyOf(allowedAddressPairs);
        hostId = hostId == null ? "" : hostId;
        status = status == null ? "DOWN" : status;
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public Port withDevice(String owner, String device, String host, Instant now) {
        return new Port(id, projectId, networkId, name, description, adminStateUp, macAddress, fixedIps, owner, device, securityGroups,
                portSecurityEnabled, allowedAddressPairs, host, status, createdAt, now, revisionNumber + 1);
    }

    public Port withDetails(String n, String d, boolean up, List<String> groups, boolean portSecurity, List<AddressPair> pairs,
                            List<FixedIp> ips, Instant now) {
        return new Port(id, projectId, networkId, n, d, up, macAddress, ips, deviceOwner, deviceId, groups, portSecurity, pairs, hostId,
                status, createdAt, now, revisionNumber + 1);
    }

    public Port withStatus(String s, Instant now) {
        return new Port(id, projectId, networkId, name, description, adminStateUp, macAddress, fixedIps, deviceOwner, deviceId,
                securityGroups, portSecurityEnabled, allowedAddressPairs, hostId, s, createdAt, now, revisionNumber + 1);
    }
}
