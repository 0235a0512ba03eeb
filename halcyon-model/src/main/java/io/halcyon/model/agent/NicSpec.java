package io.halcyon.model.agent;

import static java.util.Objects.requireNonNull;

/**
 * A guest NIC as the agent plugs it: the Neutron port (its id is OVN's logical port name, which
 * the tap carries as {@code iface-id}), the MAC the guest sees, and the network's MTU.
 */
public record NicSpec(String portId, String macAddress, int mtu) {
    public NicSpec {
        requireNonNull(portId, "portId is null");
        requireNonNull(macAddress, "macAddress is null");
    }

    /** The host's tap for this port: Linux names are at most 15 bytes, so Neutron's "tap" + 11 characters of the id. */
    public String tap() {
        return "tap" + portId.substring(0, Math.min(11, portId.length()));
    }
}
