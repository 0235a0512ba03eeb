package io.halcyon.api.compute;

import io.halcyon.model.compute.ComputeQuota;
import io.halcyon.model.compute.ComputeQuotaRecord;
import io.halcyon.model.compute.Server;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * A project's compute quota (its override or the cloud's defaults) and what it uses now. Usage is
 * kept per project by a handler on the server informer, so a check costs a map lookup however
 * many servers the project has.
 */
public final class ComputeQuotas {
    public record Usage(int instances, int cores, int ram) {
    }

    private final Resources res;
    private final ComputeQuota defaults;
    private final Map<String, Usage> usage = new ConcurrentHashMap<>();

    public ComputeQuotas(Resources res, ComputeQuota defaults) {
        this.res = requireNonNull(res, "res is null");
        this.defaults = requireNonNull(defaults, "defaults is null");
        res.servers().addHandler((id, old, now) -> {
            if (old != null) {
                add(old.value(), -1);
            }
            if (now != null) {
                add(now.value(), 1);
            }
        });
        for (Versioned<Server> v : res.servers().list()) {
            add(v.value(), 1);
        }
    }

    private void add(Server s, int sign) {
        var f = s.spec().flavor();
        usage.merge(s.projectId(), new Usage(sign, sign * f.vcpus(), sign * f.ramMb()),
                (a, b) -> new Usage(a.instances() + b.instances(), a.cores() + b.cores(), a.ram() + b.ram()));
    }

    public ComputeQuota defaults() {
        return defaults;
    }

    public ComputeQuota of(String projectId) {
        return res.computeQuotas().get(projectId).map(Versioned::value).map(ComputeQuotaRecord::quota).orElse(defaults);
    }

    /** Every server record counts until it is gone, including ones being deleted, as in Nova. */
    public Usage usage(String projectId) {
        return usage.getOrDefault(projectId, new Usage(0, 0, 0));
    }
}
