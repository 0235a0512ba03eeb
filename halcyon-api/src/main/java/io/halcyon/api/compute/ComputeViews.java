package io.halcyon.api.compute;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.http.ApiJson;
import io.halcyon.model.compute.Flavor;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerStatus;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Nova's JSON shapes at microversion 2.1. */
public final class ComputeViews {
    private ComputeViews() {
    }

    static List<Map<String, String>> links(String base, String collection, String id) {
        return List.of(
                Map.of("rel", "self", "href", base + "/compute/v2.1/" + collection + "/" + id),
                Map.of("rel", "bookmark", "href", base + "/compute/" + collection + "/" + id));
    }

    public static Map<String, Object> flavor(String base, Flavor f) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", f.id());
        m.put("name", f.name());
        m.put("ram", f.ramMb());
        m.put("disk", f.diskGb());
        m.put("vcpus", f.vcpus());
        m.put("swap", f.swapMb() == 0 ? "" : f.swapMb());
        m.put("OS-FLV-EXT-DATA:ephemeral", f.ephemeralGb());
        m.put("OS-FLV-DISABLED:disabled", f.disabled());
        m.put("rxtx_factor", f.rxtxFactor());
        m.put("os-flavor-access:is_public", f.isPublic());
        m.put("links", links(base, "flavors", f.id()));
        return m;
    }

    public static Map<String, Object> flavorSummary(String base, Flavor f) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", f.id());
        m.put("name", f.name());
        m.put("links", links(base, "flavors", f.id()));
        return m;
    }

    public static Map<String, Object> serverSummary(String base, Server s) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", s.id());
        m.put("name", s.spec().name());
        m.put("links", links(base, "servers", s.id()));
        return m;
    }

    static String hostId(String projectId, String host) {
        if (host == null) {
            return "";
        }
        try {
            var md = MessageDigest.getInstance("SHA-224");
            return HexFormat.of().formatHex(md.digest((projectId + host).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String instanceName(String serverId) {
        return "instance-" + serverId.substring(0, 8);
    }

    public static Map<String, Object> server(String base, Server s, AuthContext ctx, ServerPorts ports) {
        ServerStatus st = s.status();
        var m = new LinkedHashMap<String, Object>();
        m.put("id", s.id());
        m.put("name", s.spec().name());
        m.put("status", st.apiStatus());
        m.put("tenant_id", s.projectId());
        m.put("user_id", s.userId());
        m.put("metadata", s.spec().metadata());
        m.put("hostId", hostId(s.projectId(), st.host()));
        m.put("image", s.spec().imageId().isEmpty() ? "" : Map.of("id", s.spec().imageId(), "links",
                List.of(Map.of("rel", "bookmark", "href", base + "/compute/images/" + s.spec().imageId()))));
        m.put("flavor", Map.of("id", s.spec().flavor().id(), "links",
                List.of(Map.of("rel", "bookmark", "href", base + "/compute/flavors/" + s.spec().flavor().id()))));
        m.put("created", ApiJson.seconds(s.createdAt()));
        m.put("updated", ApiJson.seconds(st.updatedAt()));
        m.put("addresses", ports.addresses(s));
        m.put("security_groups", ports.securityGroups(s));
        m.put("accessIPv4", s.spec().accessIPv4());
        m.put("accessIPv6", s.spec().accessIPv6());
        m.put("links", links(base, "servers", s.id()));
        m.put("OS-DCF:diskConfig", "MANUAL");
        m.put("progress", 0);
        m.put("OS-EXT-AZ:availability_zone", s.spec().availabilityZone() == null ? "nova" : s.spec().availabilityZone());
        m.put("config_drive", s.spec().configDrive() ? "True" : "");
        m.put("key_name", s.spec().keyName());
        m.put("OS-SRV-USG:launched_at", ApiJson.micros(st.launchedAt()));
        m.put("OS-SRV-USG:terminated_at", null);
        if (ctx.isAdmin()) {
            m.put("OS-EXT-SRV-ATTR:host", st.host());
            m.put("OS-EXT-SRV-ATTR:instance_name", instanceName(s.id()));
            m.put("OS-EXT-SRV-ATTR:hypervisor_hostname", st.host());
        }
        m.put("OS-EXT-STS:task_state", st.taskState() == null ? null : st.taskState().wire());
        m.put("OS-EXT-STS:vm_state", st.vmState().wire());
        m.put("OS-EXT-STS:power_state", st.powerState().code());
        var attached = new ArrayList<Map<String, Object>>();
        for (var b : s.spec().blockDevices()) {
            attached.add(Map.of("id", b.volumeId()));
        }
        m.put("os-extended-volumes:volumes_attached", attached);
        if (st.fault() != null && ("ERROR".equals(st.apiStatus()) || "DELETED".equals(st.apiStatus()))) {
            var f = new LinkedHashMap<String, Object>();
            f.put("code", st.fault().code());
            f.put("created", ApiJson.seconds(st.fault().created()));
            f.put("message", st.fault().message());
            if (ctx.isAdmin() && !st.fault().details().isEmpty()) {
                f.put("details", st.fault().details());
            }
            m.put("fault", f);
        }
        return m;
    }

    public static Map<String, Object> action(InstanceAction a, boolean withEvents, boolean admin) {
        var m = new LinkedHashMap<String, Object>();
        m.put("action", a.action());
        m.put("instance_uuid", a.serverId());
        m.put("message", a.message());
        m.put("project_id", a.projectId());
        m.put("request_id", a.requestId());
        m.put("start_time", ApiJson.micros(a.startTime()));
        m.put("user_id", a.userId());
        if (withEvents) {
            var events = new ArrayList<Map<String, Object>>();
            for (InstanceAction.Event e : a.events()) {
                var em = new LinkedHashMap<String, Object>();
                em.put("event", e.event());
                em.put("start_time", ApiJson.micros(e.startTime()));
                em.put("finish_time", ApiJson.micros(e.finishTime()));
                em.put("result", e.result());
                if (admin) {
                    em.put("traceback", e.details());
                }
                events.add(em);
            }
            m.put("events", events);
        }
        return m;
    }

    public static Map<String, Object> hypervisor(Host h, HostAllocation alloc, boolean up, long runningVms, boolean detail) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", h.seq());
        m.put("hypervisor_hostname", h.name());
        m.put("state", up ? "up" : "down");
        m.put("status", h.enabled() ? "enabled" : "disabled");
        if (detail) {
            int usedRam = alloc == null ? 0 : alloc.usedRamMb();
            int usedDisk = alloc == null ? 0 : alloc.usedDiskGb();
            int usedCpu = alloc == null ? 0 : alloc.usedVcpus();
            m.put("cpu_info", "{\"model\": \"" + (h.cpuModel() == null ? "" : h.cpuModel().replace("\"", "")) + "\", \"arch\": \""
                    + h.arch() + "\"}");
            m.put("current_workload", 0);
            m.put("disk_available_least", h.diskGb() - usedDisk);
            m.put("free_disk_gb", h.diskGb() - usedDisk);
            m.put("free_ram_mb", h.ramMb() - usedRam);
            m.put("host_ip", h.endpoint() == null ? null : hostOf(h.endpoint()));
            m.put("hypervisor_type", "QEMU");
            m.put("hypervisor_version", versionNumber(h.hypervisorVersion()));
            m.put("local_gb", h.diskGb());
            m.put("local_gb_used", usedDisk);
            m.put("memory_mb", h.ramMb());
            m.put("memory_mb_used", usedRam + h.reservedRamMb());
            m.put("running_vms", runningVms);
            m.put("service", Map.of("host", h.name(), "id", h.seq(), "disabled_reason", h.disabledReason() == null ? "" : h.disabledReason()));
            m.put("vcpus", h.cpus());
            m.put("vcpus_used", usedCpu);
        }
        return m;
    }

    static String hostOf(String endpoint) {
        String s = endpoint.replaceFirst("^[a-z]+://", "");
        int colon = s.lastIndexOf(':');
        int slash = s.indexOf('/');
        if (slash >= 0) {
            s = s.substring(0, slash);
            colon = s.lastIndexOf(':');
        }
        return colon > 0 ? s.substring(0, colon) : s;
    }

    /** Nova's integer form of a version: 7.2.22 becomes 7002022. */
    static long versionNumber(String v) {
        if (v == null) {
            return 0;
        }
        String[] p = v.split("[^0-9]+");
        long out = 0;
        int n = 0;
        for (String s : p) {
            if (s.isEmpty() || n == 3) {
                continue;
            }
            out = out * 1000 + Long.parseLong(s);
            n++;
        }
        while (n++ < 3) {
            out *= 1000;
        }
        return out;
    }
}
