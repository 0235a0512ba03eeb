package io.halcyon.api.network;

import io.halcyon.model.network.NetworkQuota;
import io.halcyon.model.network.NetworkQuotaRecord;
import io.halcyon.model.network.Port;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.util.LinkedHashMap;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/** A project's network quota (its record, else the defaults) and usage counted from the informers. */
public final class NetworkQuotas {
    private final Resources res;
    private final NetworkQuota defaults;

    public NetworkQuotas(Resources res, NetworkQuota defaults) {
        this.res = requireNonNull(res, "res is null");
        this.defaults = requireNonNull(defaults, "defaults is null");
    }

    public NetworkQuota defaults() {
        return defaults;
    }

    public NetworkQuota of(String project) {
        return res.networkQuotas().get(project).map(Versioned::value).map(NetworkQuotaRecord::quota).orElse(defaults);
    }

    public Map<String, Integer> usage(String project) {
        var m = new LinkedHashMap<String, Integer>();
        m.put("network", res.networks().byIndex(Resources.BY_PROJECT, project).size());
        m.put("subnet", (int) res.subnets().list().stream().filter(s -> s.value().projectId().equals(project)).count());
        m.put("port", (int) res.ports().byIndex(Resources.BY_PROJECT, project).stream()
                .filter(p -> !p.value().deviceOwner().equals(Port.OWNER_ROUTER_GATEWAY)
                        && !p.value().deviceOwner().equals(Port.OWNER_FLOATING_IP)).count());
        m.put("router", res.routers().byIndex(Resources.BY_PROJECT, project).size());
        m.put("floatingip", res.floatingIps().byIndex(Resources.BY_PROJECT, project).size());
        m.put("security_group", res.securityGroups().byIndex(Resources.BY_PROJECT, project).size());
        m.put("security_group_rule", (int) res.securityGroupRules().list().stream()
                .filter(r -> r.value().projectId().equals(project)).count());
        return m;
    }

    static int limit(NetworkQuota q, String resource) {
        return switch (resource) {
            case "network" -> q.network();
            case "subnet" -> q.subnet();
            case "port" -> q.port();
            case "router" -> q.router();
            case "floatingip" -> q.floatingip();
            case "security_group" -> q.securityGroup();
            case "security_group_rule" -> q.securityGroupRule();
            default -> throw new IllegalArgumentException(resource);
        };
    }

    /** Refuses {@code more} new {@code resource}s past the project's limit (409 OverQuota, as Neutron). */
    public void check(String project, String resource, int more) {
        int limit = limit(of(project), resource);
        if (limit >= 0 && usage(project).get(resource) + more > limit) {
            throw NetworkErrors.overQuota(resource);
        }
    }

    static Map<String, Integer> view(NetworkQuota q) {
        var m = new LinkedHashMap<String, Integer>();
        for (String r : new String[]{"network", "subnet", "port", "router", "floatingip", "security_group", "security_group_rule"}) {
            m.put(r, limit(q, r));
        }
        return m;
    }
}
