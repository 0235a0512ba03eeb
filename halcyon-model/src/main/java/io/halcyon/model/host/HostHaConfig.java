package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * What operators set on a host for HA: maintenance (no new guests, never fenced), HA disarmed
 * (no fencing, no self-fencing) and its BMC, whose password is stored sealed (never in clear).
 */
public record HostHaConfig(String host, boolean maintenance, boolean disarmed, Bmc bmc, Instant updatedAt) {
    public HostHaConfig {
        requireNonNull(host, "host is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    /** IPMI over LAN (lanplus): address, UDP port, user, and the password sealed with the cluster's credential key. */
    public record Bmc(String address, int port, String username, String sealedPassword) {
        public Bmc {
            requireNonNull(address, "address is null");
            requireNonNull(username, "username is null");
            requireNonNull(sealedPassword, "sealedPassword is null");
        }
    }

    public static HostHaConfig empty(String host, Instant now) {
        return new HostHaConfig(host, false, false, null, now);
    }

    public HostHaConfig withMaintenance(boolean on, Instant now) {
        return new HostHaConfig(host, on, disarmed, bmc, now);
    }

    public HostHaConfig withDisarmed(boolean off, Instant now) {
        return new HostHaConfig(host, maintenance, off, bmc, now);
    }

    public HostHaConfig withBmc(Bmc b, Instant now) {
        return new HostHaConfig(host, maintenance, disarmed, b, now);
    }
}
