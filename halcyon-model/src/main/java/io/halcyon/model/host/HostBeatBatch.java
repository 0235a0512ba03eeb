package io.halcyon.model.host;

import java.time.Instant;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * The lease renewals one controller answered since its previous batch: host name to the agent's
 * renewal sequence number. One record per controller, rewritten at most a few times a second and
 * attached to that controller's own store lease, so it goes when the controller does. The leader
 * reads every version of it as it is written: a host in it renewed.
 */
public record HostBeatBatch(String controller, long batch, Map<String, Long> hosts, Instant at) {
    public HostBeatBatch {
        requireNonNull(controller, "controller is null");
        hosts = Map.copyOf(requireNonNull(hosts, "hosts is null"));
        requireNonNull(at, "at is null");
    }
}
