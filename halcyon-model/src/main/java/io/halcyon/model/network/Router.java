package io.halcyon.model.network;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * A Neutron router (an OVN logical router). Its interfaces are ports with device owner
 * {@code network:router_interface}; its external gateway is a port on an external network
 * ({@code network:router_gateway}) through which it SNATs when {@code enableSnat}.
 */
public record Router(String id, String projectId, String name, String description, boolean adminStateUp, String gatewayNetworkId,
                     boolean enableSnat, Instant createdAt, Instant updatedAt, long revisionNumber) {
    public Router {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        name = name == null ? "" : name;
        description = description == null ? "" : description;
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public Router withDetails(String n, String d, boolean up, Instant now) {
        return new Router(id, projectId, n, d, up, gatewayNetworkId, enableSnat, createdAt, now, revisionNumber + 1);
    }

    public Router withGateway(String networkId, boolean snat, Instant now) {
        return new Router(id, projectId, name, description, adminStateUp, networkId, snat, createdAt, now, revisionNumber + 1);
    }
}
