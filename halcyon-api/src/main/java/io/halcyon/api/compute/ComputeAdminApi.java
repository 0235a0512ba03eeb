package io.halcyon.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiJson;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.compute.ComputeQuota;
import io.halcyon.model.compute.ComputeQuotaRecord;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import static java.util.Objects.requireNonNull;

/** Limits, quota sets, hypervisors, services and availability zones of the compute API. */
public final class ComputeAdminApi {
    private static final Set<String> QUOTA_KEYS = Set.of("instances", "cores", "ram", "metadata_items", "key_pairs", "server_groups",
            "server_group_members", "injected_files", "injected_file_content_bytes", "injected_file_path_bytes", "fixed_ips",
            "floating_ips", "security_groups", "security_group_rules", "networks", "force");

    private final Resources res;
    private final ComputeQuotas quotas;
    private final Predicate<String> projectExists;

    public ComputeAdminApi(Resources res, ComputeQuotas quotas, Predicate<String> projectExists) {
        this.res = requireNonNull(res, "res is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.projectExists = requireNonNull(projectExists, "projectExists is null");
    }

    public void register(Router.Group g) {
        g.get("/limits", "os_compute_api:limits", this::limits);
        g.get("/os-quota-sets/{project}", "os_compute_api:os-quota-sets:show", r -> quotaSet(r, false));
        g.get("/os-quota-sets/{project}/detail", "os_compute_api:os-quota-sets:detail", r -> quotaSet(r, true));
        g.get("/os-quota-sets/{project}/defaults", "os_compute_api:os-quota-sets:defaults", r -> {
            Policy.requireReader(r.auth(), "os_compute_api:os-quota-sets:defaults");
            return Reply.ok(Map.of("quota_set", quotaView(r.param("project"), quotas.defaults(), null)));
        });
        g.put("/os-quota-sets/{project}", "os_compute_api:os-quota-sets:update", this::updateQuota);
        g.delete("/os-quota-sets/{project}", "os_compute_api:os-quota-sets:delete", r -> {
            Policy.requireAdmin(r.auth(), "os_compute_api:os-quota-sets:delete");
            String p = r.param("project");
            var cur = res.computeQuotas().get(p);
            if (cur.isPresent()) {
                res.awaitRevision(res.repo(Kinds.COMPUTE_QUOTAS).delete(p, cur.get().revision()));
            }
            return Reply.empty(202);
        });
        g.get("/os-hypervisors", "os_compute_api:os-hypervisors:list", r -> hypervisors(r, false));
        g.get("/os-hypervisors/detail", "os_compute_api:os-hypervisors:list-detail", r -> hypervisors(r, true));
        g.get("/os-hypervisors/statistics", "os_compute_api:os-hypervisors:statistics", this::statistics);
        g.get("/os-hypervisors/{id}", "os_compute_api:os-hypervisors:show", this::hypervisor);
        g.get("/os-services", "os_compute_api:os-services:list", this::services);
        g.put("/os-services/disable", "os_compute_api:os-services:update", r -> setService(r, false));
        g.put("/os-services/enable", "os_compute_api:os-services:update", r -> setService(r, true));
        g.put("/os-services/disable-log-reason", "os_compute_api:os-services:update", r -> setService(r, false));
        g.get("/os-availability-zone", "os_compute_api:os-availability-zone:list", r -> Reply.ok(Map.of("availabilityZoneInfo",
                List.of(Map.of("zoneName", ServerService.AVAILABILITY_ZONE, "zoneState", Map.of("available", true), "hosts", "null")))));
        g.get("/os-availability-zone/detail", "os_compute_api:os-availability-zone:detail", this::zonesDetail);
    }

    private Reply limits(ApiRequest r) {
        AuthContext ctx = r.auth();
        Policy.requireReader(ctx, "os_compute_api:limits");
        res.sync();
        String project = ctx.isAdmin() && r.query("tenant_id") != null ? r.query("tenant_id") : ctx.projectId();
        ComputeQuota q = quotas.of(project);
        var used = quotas.usage(project);
        var a = new LinkedHashMap<String, Object>();
        a.put("maxServerMeta", q.metadataItems());
        a.put("maxPersonality", q.injectedFiles());
        a.put("totalServerGroupsUsed", 0);
        a.put("maxImageMeta", 128);
        a.put("maxPersonalitySize", q.injectedFileContentBytes());
        a.put("maxTotalKeypairs", q.keyPairs());
        a.put("maxSecurityGroupRules", -1);
        a.put("maxServerGroups", q.serverGroups());
        a.put("totalCoresUsed", used.cores());
        a.put("totalRAMUsed", used.ram());
        a.put("totalInstancesUsed", used.instances());
        a.put("maxSecurityGroups", -1);
        a.put("totalFloatingIpsUsed", 0);
        a.put("maxTotalCores", q.cores());
        a.put("maxServerGroupMembers", q.serverGroupMembers());
        a.put("maxTotalFloatingIps", -1);
        a.put("totalSecurityGroupsUsed", 0);
        a.put("maxTotalInstances", q.instances());
        a.put("maxTotalRAMSize", q.ram());
        return Reply.ok(Map.of("limits", Map.of("rate", List.of(), "absolute", a)));
    }

    private void checkProject(ApiRequest r, String project) {
        AuthContext ctx = r.auth();
        if (!ctx.isAdmin() && !project.equals(ctx.projectId())) {
            throw ApiException.forbidden("Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.");
        }
        if (!projectExists.test(project)) {
            throw ApiException.badRequest("Project ID " + project + " is not a valid project.");
        }
    }

    private Reply quotaSet(ApiRequest r, boolean detail) {
        Policy.requireReader(r.auth(), "os_compute_api:os-quota-sets:show");
        res.sync();
        String project = r.param("project");
        checkProject(r, project);
        return Reply.ok(Map.of("quota_set", quotaView(project, quotas.of(project), detail ? quotas.usage(project) : null)));
    }

    private static Map<String, Object> quotaView(String project, ComputeQuota q, ComputeQuotas.Usage used) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", project);
        put(m, "cores", q.cores(), used == null ? null : used.cores());
        put(m, "instances", q.instances(), used == null ? null : used.instances());
        put(m, "ram", q.ram(), used == null ? null : used.ram());
        put(m, "metadata_items", q.metadataItems(), used == null ? null : 0);
        put(m, "key_pairs", q.keyPairs(), used == null ? null : 0);
        put(m, "server_groups", q.serverGroups(), used == null ? null : 0);
        put(m, "server_group_members", q.serverGroupMembers(), used == null ? null : 0);
        put(m, "injected_files", q.injectedFiles(), used == null ? null : 0);
        put(m, "injected_file_content_bytes", q.injectedFileContentBytes(), used == null ? null : 0);
        put(m, "injected_file_path_bytes", q.injectedFilePathBytes(), used == null ? null : 0);
        put(m, "fixed_ips", -1, used == null ? null : 0);
        put(m, "floating_ips", -1, used == null ? null : 0);
        put(m, "security_groups", -1, used == null ? null : 0);
        put(m, "security_group_rules", -1, used == null ? null : 0);
        return m;
    }

    private static void put(Map<String, Object> m, String key, int limit, Integer inUse) {
        if (inUse == null) {
            m.put(key, limit);
        } else {
            m.put(key, Map.of("limit", limit, "in_use", inUse, "reserved", 0));
        }
    }

    private Reply updateQuota(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-quota-sets:update");
        res.sync();
        String project = r.param("project");
        checkProject(r, project);
        JsonNode body = Body.object(r.json(), "quota_set");
        Body.onlyKnown(body, QUOTA_KEYS);
        boolean force = Boolean.TRUE.equals(Body.optionalBool(body, "force"));
        ComputeQuota q = quotas.of(project);
        var used = quotas.usage(project);
        int instances = value(body, "instances", q.instances(), used.instances(), force);
        int cores = value(body, "cores", q.cores(), used.cores(), force);
        int ram = value(body, "ram", q.ram(), used.ram(), force);
        var next = new ComputeQuota(instances, cores, ram,
                value(body, "metadata_items", q.metadataItems(), 0, force),
                value(body, "key_pairs", q.keyPairs(), 0, force),
                value(body, "server_groups", q.serverGroups(), 0, force),
                value(body, "server_group_members", q.serverGroupMembers(), 0, force),
                value(body, "injected_files", q.injectedFiles(), 0, force),
                value(body, "injected_file_content_bytes", q.injectedFileContentBytes(), 0, force),
                value(body, "injected_file_path_bytes", q.injectedFilePathBytes(), 0, force));
        var repo = res.repo(Kinds.COMPUTE_QUOTAS);
        var cur = res.computeQuotas().get(project);
        var rec = new ComputeQuotaRecord(project, next);
        try {
            long rev = cur.isPresent() ? repo.update(rec, cur.get().revision()) : repo.create(rec);
            res.awaitRevision(rev);
        } catch (io.halcyon.runtime.ConflictException e) {
            throw ApiException.conflict("Quota for project " + project + " changed concurrently; retry.");
        }
        var view = quotaView(project, next, null);
        view.remove("id");
        return Reply.ok(Map.of("quota_set", view));
    }

    private static int value(JsonNode body, String key, int current, int used, boolean force) {
        Integer v = Body.optionalInt(body, key, -1, Integer.MAX_VALUE, true);
        if (v == null) {
            return current;
        }
        if (!force && v >= 0 && v < used) {
            throw ApiException.badRequest("Quota limit " + v + " for " + key + " must be greater than or equal to already used and reserved " + used + ".");
        }
        return v;
    }

    private List<Host> hosts() {
        var list = new ArrayList<Host>();
        for (var v : res.hosts().list()) {
            list.add(v.value());
        }
        list.sort(Comparator.comparingLong(Host::seq));
        return list;
    }

    private Map<String, Object> hypervisorView(Host h, boolean detail) {
        HostAllocation alloc = res.allocations().get(h.name()).map(Versioned::value).orElse(null);
        long running = res.servers().byIndex(Resources.BY_HOST, h.name()).size();
        return ComputeViews.hypervisor(h, alloc, res.hostUp(h.name()), running, detail);
    }

    private Reply hypervisors(ApiRequest r, boolean detail) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-hypervisors:list");
        res.sync();
        var out = new ArrayList<Map<String, Object>>();
        for (Host h : hosts()) {
            out.add(hypervisorView(h, detail));
        }
        return Reply.ok(Map.of("hypervisors", out));
    }

    private Reply hypervisor(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-hypervisors:show");
        res.sync();
        String id = r.param("id");
        for (Host h : hosts()) {
            if (Long.toString(h.seq()).equals(id) || h.name().equals(id)) {
                return Reply.ok(Map.of("hypervisor", hypervisorView(h, true)));
            }
        }
        throw ApiException.notFound("Hypervisor with ID " + id + " could not be found.");
    }

    private Reply statistics(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-hypervisors:statistics");
        res.sync();
        long count = 0;
        long vcpus = 0;
        long vcpusUsed = 0;
        long mem = 0;
        long memUsed = 0;
        long disk = 0;
        long diskUsed = 0;
        long running = 0;
        for (Host h : hosts()) {
            HostAllocation a = res.allocations().get(h.name()).map(Versioned::value).orElse(HostAllocation.empty(h.name()));
            count++;
            vcpus += h.cpus();
            vcpusUsed += a.usedVcpus();
            mem += h.ramMb();
            memUsed += a.usedRamMb() + h.reservedRamMb();
            disk += h.diskGb();
            diskUsed += a.usedDiskGb();
            running += a.claims().size();
        }
        var m = new LinkedHashMap<String, Object>();
        m.put("count", count);
        m.put("vcpus", vcpus);
        m.put("vcpus_used", vcpusUsed);
        m.put("memory_mb", mem);
        m.put("memory_mb_used", memUsed);
        m.put("free_ram_mb", mem - memUsed);
        m.put("local_gb", disk);
        m.put("local_gb_used", diskUsed);
        m.put("free_disk_gb", disk - diskUsed);
        m.put("disk_available_least", disk - diskUsed);
        m.put("running_vms", running);
        m.put("current_workload", 0);
        return Reply.ok(Map.of("hypervisor_statistics", m));
    }

    private Reply services(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-services:list");
        res.sync();
        String hostFilter = r.query("host");
        String binary = r.query("binary");
        var out = new ArrayList<Map<String, Object>>();
        for (Host h : hosts()) {
            if ((hostFilter != null && !hostFilter.equals(h.name())) || (binary != null && !"nova-compute".equals(binary))) {
                continue;
            }
            var m = new LinkedHashMap<String, Object>();
            m.put("id", h.seq());
            m.put("binary", "nova-compute");
            m.put("host", h.name());
            m.put("zone", ServerService.AVAILABILITY_ZONE);
            m.put("status", h.enabled() ? "enabled" : "disabled");
            m.put("state", res.hostUp(h.name()) ? "up" : "down");
            m.put("updated_at", ApiJson.micros(res.hostLeases().get(h.name()).map(l -> l.value().grantedAt()).orElse(h.updatedAt())));
            m.put("disabled_reason", h.disabledReason());
            m.put("forced_down", false);
            out.add(m);
        }
        return Reply.ok(Map.of("services", out));
    }

    private Reply setService(ApiRequest r, boolean enable) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-services:update");
        JsonNode b = r.json();
        String host = Body.string(b, "host", 1, 255);
        String binary = Body.string(b, "binary", 1, 255);
        String reason = enable ? null : Body.optionalString(b, "disabled_reason", 0, 255);
        if (!"nova-compute".equals(binary)) {
            throw ApiException.badRequest("Only nova-compute services can be enabled or disabled.");
        }
        var repo = res.repo(Kinds.HOSTS);
        var out = repo.modify(host, h -> h.withEnabled(enable, reason, res.clock().now()))
                .orElseThrow(() -> ApiException.notFound("Host " + host + " could not be found."));
        res.awaitRevision(out.revision());
        var m = new LinkedHashMap<String, Object>();
        m.put("host", host);
        m.put("binary", binary);
        m.put("status", enable ? "enabled" : "disabled");
        if (!enable) {
            m.put("disabled_reason", reason);
        }
        return Reply.ok(Map.of("service", m));
    }

    private Reply zonesDetail(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "os_compute_api:os-availability-zone:detail");
        res.sync();
        var hosts = new LinkedHashMap<String, Object>();
        for (Host h : hosts()) {
            hosts.put(h.name(), Map.of("nova-compute", Map.of("available", h.enabled(), "active", res.hostUp(h.name()),
                    "updated_at", ApiJson.micros(h.updatedAt()))));
        }
        return Reply.ok(Map.of("availabilityZoneInfo", List.of(Map.of("zoneName", ServerService.AVAILABILITY_ZONE,
                "zoneState", Map.of("available", true), "hosts", hosts))));
    }
}
