package io.halcyon.model.compute;

import static java.util.Objects.requireNonNull;

/** A project's compute quota overrides; absent means the cloud's defaults. */
public record ComputeQuotaRecord(String projectId, ComputeQuota quota) {
    public ComputeQuotaRecord {
        requireNonNull(projectId, "projectId is null");
        requireNonNull(quota, "quota is null");
    }
}
