package io.halcyon.scheduler;

import java.util.Set;

/**
 * What one server needs: resources, and from its server group, hosts it must avoid
 * (anti-affinity: where other members run) or the one host it must join (affinity), or null.
 */
public record Demand(String serverId, int vcpus, int ramMb, int diskGb, Set<String> avoidHosts, String requireHost) {
    public Demand {
        avoidHosts = avoidHosts == null ? Set.of() : Set.copyOf(avoidHosts);
    }

    public Demand(String serverId, int vcpus, int ramMb, int diskGb) {
        this(serverId, vcpus, ramMb, diskGb, Set.of(), null);
    }
}
