package io.halcyon.api.compute;

import io.halcyon.model.compute.ComputeQuota;
import io.halcyon.model.compute.ComputeQuotaRecord;
import io.halcyon.model.compute.Server;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import static java.util.Objects.requireNonNull;

/** A project's compute quota (its override or the cloud's defaults) and what it uses now. */
public final class ComputeQuotas {
    public record Usage(int instances, int cores, int ram) {
    }

    private final Resources res;
    private final ComputeQuota defaults;

    public ComputeQuotas(Resources res, ComputeQuota defaults) {
        this.res = requireNonNull(res, "res is null");
        this.defaults = requireNonNull(defaults, "defaults is null");
    }

    public ComputeQuota defaults() {
        return defaults;
    }

    public ComputeQuota of(String projectId) {
        return res.computeQuotas().get(projectId).map(Versioned::value).map(ComputeQuotaRecord::quota).orElse(defaults);
    }

    /** Every server record counts until it is gone, including ones being deleted, as in Nova. */
    public Usage usage(String projectId) {
        int n = 0;
        int cores = 0;
        int ram = 0;
        for (Versioned<Server> v : res.servers().byIndex(Resources.BY_PROJECT, projectId)) {
            n++;
            cores += v.value().spec().flavor().vcpus();
            ram += v.value().spec().flavor().ramMb();
        }
        return new Usage(n, cores, ram);
    }
}
