package io.halcyon.model.network;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * A Neutron floating IP: an address on an external network (held by a port with device owner
 * {@code network:floatingip}) that, once associated with a port's fixed IP, the router between
 * them translates both ways (an OVN dnat_and_snat rule).
 */
public record FloatingIp(String id, String projectId, String floatingNetworkId, String floatingIpAddress, String floatingPortId,
                         String portId, String fixedIpAddress, String routerId, String description, Instant createdAt,
                         Instant updatedAt, long revisionNumber) {
    public FloatingIp {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(floatingNetworkId, "floatingNetworkId is null");
        requireNonNull(floatingIpAddress, "floatingIpAddress is null");
        description = description == null ? "" : description;
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public String status() {
        return portId == null ? "DOWN" : "ACTIVE";
    }

    public FloatingIp associate(String port, String fixedIp, String router, Instant now) {
        return new FloatingIp(id, projectId, floatingNetworkId, floatingIpAddress, floatingPortId, port, fixedIp, router, description,
                createdAt, now, revisionNumber + 1);
    }

    public FloatingIp withDescription(String d, Instant now) {
        return new FloatingIp(id, projectId, floatingNetworkId, floatingIpAddress, floatingPortId, portId, fixedIpAddress, routerId, d,
                createdAt, now, revisionNumber + 1);
    }
}
