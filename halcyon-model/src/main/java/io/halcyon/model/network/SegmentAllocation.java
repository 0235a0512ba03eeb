package io.halcyon.model.network;

import static java.util.Objects.requireNonNull;

/**
 * A segment held by a network: a Geneve VNI, a VLAN id on a physical network, or a whole flat
 * physical network; guarded like IP allocations, so no two networks share one.
 */
public record SegmentAllocation(String key, String networkId) {
    public SegmentAllocation {
        requireNonNull(key, "key is null");
        requireNonNull(networkId, "networkId is null");
    }

    public static String geneve(int vni) {
        return "geneve:" + vni;
    }

    public static String vlan(String physicalNetwork, int vlanId) {
        return "vlan:" + physicalNetwork + ":" + vlanId;
    }

    public static String flat(String physicalNetwork) {
        return "flat:" + physicalNetwork;
    }

    /** Keys hold no slash: they are ids in the store. */
    public static String id(String key) {
        return key.replace('/', '_');
    }
}
