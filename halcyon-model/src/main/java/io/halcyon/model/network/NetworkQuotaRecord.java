package io.halcyon.model.network;

import static java.util.Objects.requireNonNull;

/** A project's network quota as an admin set it. */
public record NetworkQuotaRecord(String projectId, NetworkQuota quota) {
    public NetworkQuotaRecord {
        requireNonNull(projectId, "projectId is null");
        requireNonNull(quota, "quota is null");
    }
}
