package io.halcyon.model.host;

import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Every claim on one host, keyed by server id. Claims are written with a compare on this record's
 * revision, so two schedulers (or two concurrent boots) can never both take the last slot. The
 * totals are derived from the claims when the record is built (whatever was stored for them).
 */
public record HostAllocation(String host, Map<String, Claim> claims, int usedVcpus, int usedRamMb, int usedDiskGb) {
    public HostAllocation {
        requireNonNull(host, "host is null");
        claims = claims == null ? Map.of() : Map.copyOf(new TreeMap<>(claims));
        int v = 0;
        int r = 0;
        int d = 0;
        for (Claim c : claims.values()) {
            v += c.vcpus();
            r += c.ramMb();
            d += c.diskGb();
        }
        usedVcpus = v;
        usedRamMb = r;
        usedDiskGb = d;
    }

    public HostAllocation(String host, Map<String, Claim> claims) {
        this(host, claims, 0, 0, 0);
    }

    public static HostAllocation empty(String host) {
        return new HostAllocation(host, Map.of());
    }

    public HostAllocation with(String serverId, Claim c) {
        var m = new TreeMap<>(claims);
        m.put(serverId, c);
        return new HostAllocation(host, m);
    }

    public HostAllocation without(String serverId) {
        var m = new TreeMap<>(claims);
        m.remove(serverId);
        return new HostAllocation(host, m);
    }
}
