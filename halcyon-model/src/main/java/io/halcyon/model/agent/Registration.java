package io.halcyon.model.agent;

/**
 * The controller's answer to a registration: the host lease the agent must keep renewing; how long
 * it may go without a renewal before it kills its HA guests, and whether that self-fence is armed;
 * and how often an HA guest whose QEMU dies may be restarted in place ({@code restartLimit} per
 * {@code restartWindowMillis}). {@code witness}: the controller reads this host's heartbeat file
 * on the shared storage (it found the agent's boot id in it), so the agent may count those
 * heartbeats as renewals.
 */
public record Registration(String hostId, long leaseId, long leaseTtlMillis, long renewIntervalMillis, long selfFenceTimeoutMillis,
                           boolean armed, int restartLimit, long restartWindowMillis, boolean witness) {
    public Registration(String hostId, long leaseId, long leaseTtlMillis, long renewIntervalMillis) {
        this(hostId, leaseId, leaseTtlMillis, renewIntervalMillis, 0, false, 3, 600_000, false);
    }
}
