package io.halcyon.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The service catalog: versioned URLs under one base, so clients skip most discovery. Only
 * services Halcyon actually serves are listed; a client asking for another one gets its usual
 * "endpoint not found" rather than a route that 404s.
 */
public final class Catalog {
    public record Service(String type, String name, String path) {
    }

    public static final List<Service> SERVICES = List.of(
            new Service("identity", "keystone", "/identity/v3"),
            new Service("compute", "nova", "/compute/v2.1"),
            new Service("image", "glance", "/image/v2"),
            new Service("volumev3", "cinderv3", "/volume/v3/{project_id}"),
            new Service("block-storage", "cinder", "/volume/v3/{project_id}"),
            new Service("network", "neutron", "/network"));

    private final String region;

    public Catalog(String region) {
        this.region = region;
    }

    public String region() {
        return region;
    }

    public List<Map<String, Object>> render(String baseUrl, String projectId) {
        var out = new ArrayList<Map<String, Object>>();
        for (Service s : SERVICES) {
            var endpoints = new ArrayList<Map<String, Object>>();
            for (String iface : List.of("public", "internal", "admin")) {
                var e = new LinkedHashMap<String, Object>();
                e.put("id", stableId(s.type() + "/" + iface));
                e.put("interface", iface);
                e.put("region", region);
                e.put("region_id", region);
                e.put("url", baseUrl + s.path().replace("{project_id}", projectId == null ? "" : projectId));
                endpoints.add(e);
            }
            var svc = new LinkedHashMap<String, Object>();
            svc.put("endpoints", endpoints);
            svc.put("id", stableId(s.type()));
            svc.put("type", s.type());
            svc.put("name", s.name());
            out.add(svc);
        }
        return out;
    }

    static String stableId(String seed) {
        return UUID.nameUUIDFromBytes(("halcyon/" + seed).getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString().replace("-", "");
    }
}
