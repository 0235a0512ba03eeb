package io.halcyon.model.network;

import java.time.Instant;
import java.util.List;

import static java.util.Objects.requireNonNull;

/** A Neutron subnet: an IPv4 range on a network, with the pools ports take addresses from, served by OVN's DHCP. */
public record Subnet(String id, String projectId, String networkId, String name, String description, int ipVersion, String cidr,
                     String gatewayIp, List<AllocationPool> allocationPools, List<String> dnsNameservers, List<HostRoute> hostRoutes,
                     boolean enableDhcp, Instant createdAt, Instant updatedAt, long revisionNumber) {
    public record AllocationPool(String start, String end) {
        public AllocationPool {
            requireNonNull(start, "start is null");
            requireNonNull(end, "end is null");
        }
    }

    public record HostRoute(String destination, String nexthop) {
        public HostRoute {
            requireNonNull(destination, "destination is null");
            requireNonNull(nexthop, "nexthop is null");
        }
    }

    public Subnet {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(networkId, "networkId is null");
        requireNonNull(cidr, "cidr is null");
        name = name == null ? "" : name;
        description = description == null ? "" : description;
        allocationPools = allocationPools == null ? List.of() : List.copyOf(allocationPools);
        dnsNameservers = dnsNameservers == null ? List.of() : List.copyOf(dnsNameservers);
        hostRoutes = hostRoutes == null ? List.of() : List.copyOf(hostRoutes);
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public Subnet withDetails(String n, String d, String gateway, List<String> dns, List<HostRoute> routes, boolean dhcp,
                              List<AllocationPool> pools, Instant now) {
        return new Subnet(id, projectId, networkId, n, d, ipVersion, cidr, gateway, pools, dns, routes, dhcp, createdAt, now,
                revisionNumber + 1);
    }
}
