package io.halcyon.model.network;

/** Neutron's per-project limits; -1 is unlimited. */
public record NetworkQuota(int network, int subnet, int port, int router, int floatingip, int securityGroup, int securityGroupRule) {
    public static final NetworkQuota DEFAULTS = new NetworkQuota(100, 100, 500, 10, 50, 10, 100);
}
