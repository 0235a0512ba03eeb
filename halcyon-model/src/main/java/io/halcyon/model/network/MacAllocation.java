package io.halcyon.model.network;

import static java.util.Objects.requireNonNull;

/** A MAC address held by a port on a network: Neutron's MAC uniqueness per network, guarded in the store. */
public record MacAllocation(String networkId, String macAddress, String portId) {
    public MacAllocation {
        requireNonNull(networkId, "networkId is null");
        requireNonNull(macAddress, "macAddress is null");
        requireNonNull(portId, "portId is null");
    }

    public static String key(String networkId, String mac) {
        return networkId + ":" + mac;
    }

    public String key() {
        return key(networkId, macAddress);
    }
}
