package io.halcyon.api.network;

import io.halcyon.api.http.ApiException;
import io.halcyon.model.network.Ipv4;
import io.halcyon.model.network.Subnet;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/** Neutron's rules for a subnet's addresses: its cidr, gateway, allocation pools, DNS servers and host routes. */
final class SubnetRules {
    private SubnetRules() {
    }

    static Ipv4.Cidr cidr(String text) {
        try {
            return Ipv4.Cidr.parse(text, true);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("Invalid input for cidr. Reason: " + e.getMessage() + ".").withType("InvalidInput");
        }
    }

    static long address(String field, String text) {
        try {
            return Ipv4.parse(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("Invalid input for " + field + ". Reason: '" + text + "' is not a valid IP address.")
                    .withType("InvalidInput");
        }
    }

    static void checkGateway(Ipv4.Cidr cidr, String gateway) {
        long g = address("gateway_ip", gateway);
        if (!cidr.contains(g) || (cidr.prefix() < 31 && (g == cidr.network() || g == cidr.broadcast()))) {
            throw NetworkErrors.invalid("Gateway IP " + gateway + " is not a valid host address of subnet " + cidr + ".");
        }
    }

    static List<Subnet.AllocationPool> defaultPools(Ipv4.Cidr cidr, String gateway) {
        long first = cidr.firstHost();
        long last = cidr.lastHost();
        if (gateway == null) {
            return List.of(new Subnet.AllocationPool(Ipv4.format(first), Ipv4.format(last)));
        }
        long g = Ipv4.parse(gateway);
        var out = new ArrayList<Subnet.AllocationPool>();
        if (g > first) {
            out.add(new Subnet.AllocationPool(Ipv4.format(first), Ipv4.format(g - 1)));
        }
        if (g < last) {
            out.add(new Subnet.AllocationPool(Ipv4.format(g + 1), Ipv4.format(last)));
        }
        return out;
    }

    static void checkPools(Ipv4.Cidr cidr, List<Subnet.AllocationPool> pools, String gateway) {
        var ranges = new ArrayList<long[]>();
        for (Subnet.AllocationPool p : pools) {
            long start = address("allocation_pools", p.start());
            long end = address("allocation_pools", p.end());
            if (start > end) {
                throw NetworkErrors.invalid("The allocation pool " + p.start() + "-" + p.end() + " spans beyond the subnet cidr " + cidr
                        + " or ends before it starts.");
            }
            if (!cidr.contains(start) || !cidr.contains(end) || (cidr.prefix() < 31 && (start == cidr.network() || end == cidr.broadcast()))) {
                throw ApiException.badRequest("The allocation pool " + p.start() + "-" + p.end() + " spans beyond the subnet cidr " + cidr + ".")
                        .withType("OutOfBoundsAllocationPool");
            }
            if (gateway != null) {
                long g = Ipv4.parse(gateway);
                if (g >= start && g <= end) {
                    throw ApiException.conflict("Gateway ip " + gateway + " conflicts with allocation pool " + p.start() + "-" + p.end() + ".")
                            .withType("GatewayConflictWithAllocationPools");
                }
            }
            for (long[] o : ranges) {
                if (start <= o[1] && o[0] <= end) {
                    throw ApiException.badRequest("Found overlapping allocation pools: " + p.start() + "-" + p.end() + " and "
                            + Ipv4.format(o[0]) + "-" + Ipv4.format(o[1]) + " for subnet " + cidr + ".").withType("OverlappingAllocationPools");
                }
            }
            ranges.add(new long[]{start, end});
        }
    }

    static void checkDns(List<String> dns) {
        var seen = new HashSet<String>();
        for (String d : dns) {
            address("dns_nameservers", d);
            if (!seen.add(d)) {
                throw NetworkErrors.invalid("Duplicate nameserver '" + d + "'.");
            }
        }
        if (dns.size() > 5) {
            throw NetworkErrors.invalid("Too many DNS nameservers: at most 5.");
        }
    }

    static void checkRoutes(List<Subnet.HostRoute> routes) {
        for (Subnet.HostRoute r : routes) {
            try {
                Ipv4.Cidr.parse(r.destination(), true);
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("Invalid input for host_routes. Reason: " + e.getMessage() + ".").withType("InvalidInput");
            }
            address("host_routes", r.nexthop());
        }
        if (routes.size() > 20) {
            throw NetworkErrors.invalid("Too many host routes: at most 20.");
        }
    }
}
