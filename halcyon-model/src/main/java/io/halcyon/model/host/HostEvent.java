package io.halcyon.model.host;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/** One entry of a host's HA history: a state change (or a fencing step) with its reason and evidence. */
public record HostEvent(String host, Instant at, long seq, String from, String to, String reason) {
    public HostEvent {
        requireNonNull(host, "host is null");
        requireNonNull(at, "at is null");
        requireNonNull(to, "to is null");
    }

    /** Key-ordering suffix: events list in the order they happened. */
    public String key() {
        return String.format("%020d-%06d", at.toEpochMilli(), seq % 1_000_000);
    }
}
