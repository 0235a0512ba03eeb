package io.halcyon.model.network;

import static java.util.Objects.requireNonNull;

/**
 * One IP address of a subnet, held by a port. Its key is the subnet and the address, so two ports
 * can never hold one address: every allocation is created with an "absent" guard in the same
 * transaction as its port.
 */
public record IpAllocation(String subnetId, String ipAddress, String portId) {
    public IpAllocation {
        requireNonNull(subnetId, "subnetId is null");
        requireNonNull(ipAddress, "ipAddress is null");
        requireNonNull(portId, "portId is null");
    }

    public static String key(String subnetId, String ip) {
        return subnetId + ":" + ip;
    }

    public String key() {
        return key(subnetId, ipAddress);
    }
}
