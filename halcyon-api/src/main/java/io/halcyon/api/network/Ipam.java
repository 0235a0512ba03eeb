package io.halcyon.api.network;

import io.halcyon.model.network.IpAllocation;
import io.halcyon.model.network.Ipv4;
import io.halcyon.model.network.Subnet;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks free addresses from a subnet's allocation pools. The pick is only a proposal: the caller's
 * transaction creates the address's {@link IpAllocation} with an "absent" guard, so two requests
 * that pick the same address cannot both succeed; the loser picks again. Picks start at a random
 * point of the pools, so concurrent requests rarely collide.
 */
final class Ipam {
    private Ipam() {
    }

    static Set<Long> allocated(Resources res, String subnetId) {
        var out = new HashSet<Long>();
        for (Versioned<IpAllocation> a : res.ipAllocations().byIndex(Resources.BY_SUBNET, subnetId)) {
            out.add(Ipv4.parse(a.value().ipAddress()));
        }
        return out;
    }

    static long poolSize(Subnet s) {
        long n = 0;
        for (Subnet.AllocationPool p : s.allocationPools()) {
            n += Ipv4.parse(p.end()) - Ipv4.parse(p.start()) + 1;
        }
        return n;
    }

    /** A free address of the pools not in {@code taken} (nor {@code avoid}), or null when the pools are full. */
    static String pick(Subnet s, Set<Long> taken, Set<Long> avoid) {
        long total = poolSize(s);
        if (total == 0) {
            return null;
        }
        long start = ThreadLocalRandom.current().nextLong(total);
        for (long i = 0; i < total; i++) {
            long ip = nth(s.allocationPools(), (start + i) % total);
            if (!taken.contains(ip) && !avoid.contains(ip)) {
                return Ipv4.format(ip);
            }
        }
        return null;
    }

    private static long nth(List<Subnet.AllocationPool> pools, long n) {
        for (Subnet.AllocationPool p : pools) {
            long size = Ipv4.parse(p.end()) - Ipv4.parse(p.start()) + 1;
            if (n < size) {
                return Ipv4.parse(p.start()) + n;
            }
            n -= size;
        }
        throw new IllegalStateException("index past the pools");
    }

    static boolean inPools(Subnet s, long ip) {
        for (Subnet.AllocationPool p : s.allocationPools()) {
            if (ip >= Ipv4.parse(p.start()) && ip <= Ipv4.parse(p.end())) {
                return true;
            }
        }
        return false;
    }
}
