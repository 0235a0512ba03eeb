package io.halcyon.ha;

import static java.util.Objects.requireNonNull;

/**
 * One server as the HA monitor needs it. {@code wantsRunning}: its user wants it on.
 * {@code pending}: its host was fenced and it waits to be restarted elsewhere. {@code group}: its
 * anti-affinity group (null: none). {@code fault}: the recovery fault it shows now, if any.
 */
public record GuestInput(String id, String host, long epoch, HaPolicy policy, int vcpus, int ramMb, int diskGb, boolean wantsRunning,
                         boolean pending, String group, String fault) {
    public GuestInput {
        requireNonNull(id, "id is null");
        requireNonNull(policy, "policy is null");
    }
}
