package io.halcyon.model.volume;

import static java.util.Objects.requireNonNull;

/** A project's block-storage quota overrides; absent means the cloud's defaults. */
public record VolumeQuotaRecord(String projectId, VolumeQuota quota) {
    public VolumeQuotaRecord {
        requireNonNull(projectId, "projectId is null");
        requireNonNull(quota, "quota is null");
    }
}
