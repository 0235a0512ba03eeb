package io.halcyon.model.host;

import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Every claim on one host, keyed by server id. Claims are written with a compare on this record's
 * revision, so two schedulers (or two concurrent boots) can never both take the last slot.
 */
public record HostAllocation(String host, Map<String, Claim> claims) {
    public HostAllocation {
        requireNonNull(host, "host is null");
        claims = claims == null ? Map.of() : Map.copyOf(new TreeMap<>(claims));
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

    public int usedVcpus() {
        return claims.values().stream().mapToInt(Claim::vcpus).sum();
    }

    public int usedRamMb() {
        return claims.values().stream().mapToInt(Claim::ramMb).sum();
    }

    public int usedDiskGb() {
        return claims.values().stream().mapToInt(Claim::diskGb).sum();
    }
}
