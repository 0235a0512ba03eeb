package io.halcyon.ha;

import static java.util.Objects.requireNonNull;

/** What a power-off through a host's BMC ended with; {@code detail} is the evidence (the BMC's own words). */
public record BmcOutcome(String host, String token, Result result, String detail) {
    public enum Result {
        /** The BMC powered the host off and then reported it off. */
        OFF,
        /** The BMC reported the host already off. */
        ALREADY_OFF,
        /** No confirmation: unreachable, refused, or still on. */
        FAILED
    }

    public BmcOutcome {
        requireNonNull(host, "host is null");
        requireNonNull(token, "token is null");
        requireNonNull(result, "result is null");
    }
}
