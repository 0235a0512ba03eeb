package io.halcyon.model.network;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * A Neutron network: a layer-2 segment, an OVN logical switch. {@code networkType} is
 * {@code geneve} (a tenant overlay), {@code flat} or {@code vlan} (a provider network bridged onto
 * {@code physicalNetwork} of every host, VLAN-tagged with {@code segmentationId}).
 */
public record Network(String id, String projectId, String name, String description, boolean adminStateUp, boolean shared,
                      boolean external, String networkType, String physicalNetwork, Integer segmentationId, int mtu,
                      boolean portSecurityEnabled, Instant createdAt, Instant updatedAt, long revisionNumber) {
    public static final String GENEVE = "geneve";
    public static final String FLAT = "flat";
    public static final String VLAN = "vlan";

    public Network {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(networkType, "networkType is null");
        name = name == null ? "" : name;
        description = description == null ? "" : description;
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public boolean provider() {
        return !GENEVE.equals(networkType);
    }

    public Network withDetails(String n, String d, boolean up, boolean isShared, boolean isExternal, boolean portSecurity, Integer newMtu,
                               Instant now) {
        return new Network(id, projectId, n, d, up, isShared, isExternal, networkType, physicalNetwork, segmentationId,
                newMtu == null ? mtu : newMtu, portSecurity, createdAt, now, revisionNumber + 1);
    }
}
