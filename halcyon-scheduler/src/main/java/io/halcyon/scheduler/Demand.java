package io.halcyon.scheduler;

/** What one server needs. */
public record Demand(String serverId, int vcpus, int ramMb, int diskGb) {
}
