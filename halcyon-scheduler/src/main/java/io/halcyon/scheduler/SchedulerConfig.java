package io.halcyon.scheduler;

/**
 * Overcommit and placement settings. Capacity is {@code (total - reserved) * ratio}, as Nova's
 * placement computes it. {@code hostSubsetSize} > 1 picks randomly among that many best hosts,
 * so concurrent boots rarely race for the same claim.
 */
public record SchedulerConfig(double cpuAllocationRatio, double ramAllocationRatio, double diskAllocationRatio, int hostSubsetSize) {
    public SchedulerConfig {
        if (cpuAllocationRatio <= 0 || ramAllocationRatio <= 0 || diskAllocationRatio <= 0) {
            throw new IllegalArgumentException("allocation ratios must be positive");
        }
        if (hostSubsetSize < 1) {
            throw new IllegalArgumentException("hostSubsetSize must be at least 1");
        }
    }

    public static SchedulerConfig defaults() {
        return new SchedulerConfig(16.0, 1.0, 1.0, 2);
    }
}
