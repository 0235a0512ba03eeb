package io.halcyon.agent.driver;

import io.halcyon.model.compute.PowerState;

/**
 * What the driver knows of one guest: the placement epoch it was created for, whether its process
 * runs, the guest's power state, the last reboot generation carried out, and how long QEMU took
 * to start it the last time.
 */
public record Observed(String serverId, long epoch, boolean alive, PowerState power, long rebootDone, long qemuStartMillis) {
}
