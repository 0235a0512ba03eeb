package io.halcyon.model.agent;

/** The controller's answer to a registration: the host lease the agent must keep renewing. */
public record Registration(String hostId, long leaseId, long leaseTtlMillis, long renewIntervalMillis) {
}
