package io.halcyon.api.compute;

import io.halcyon.api.auth.PolicyTable;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/** Nova v2.1 at {@code /compute}: version documents, then flavors, servers and the admin resources. */
public final class ComputeApi {
    private final FlavorApi flavors;
    private final ServerApi servers;
    private final ComputeAdminApi admin;
    private final VolumeAttachmentApi attachments;
    private final Microversions versions = Microversions.compute();

    public ComputeApi(FlavorApi flavors, ServerApi servers, ComputeAdminApi admin, VolumeAttachmentApi attachments) {
        this.attachments = requireNonNull(attachments, "attachments is null");
        this.flavors = requireNonNull(flavors, "flavors is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.admin = requireNonNull(admin, "admin is null");
    }

    private Map<String, Object> version(String base) {
        var v = new LinkedHashMap<String, Object>();
        v.put("id", "v2.1");
        v.put("status", "CURRENT");
        v.put("version", versions.max());
        v.put("min_version", versions.min());
        v.put("updated", "2013-07-23T11:33:21Z");
        v.put("links", List.of(Map.of("rel", "self", "href", base + "/compute/v2.1/")));
        v.put("media-types", List.of(Map.of("base", "application/json", "type", "application/vnd.openstack.compute+json;version=2.1")));
        return v;
    }

    public void register(Router router) {
        var root = router.group("/compute", FaultStyle.NOVA);
        root.open("GET", "", r -> Reply.json(300, Map.of("versions", List.of(version(r.baseUrl())))));
        var g = router.group("/compute/v2.1", FaultStyle.NOVA, PolicyTable.load("compute", PolicyTable.Style.NOVA));
        g.hook((r, headers) -> {
            headers.put("x-compute-request-id", r.requestId());
            versions.check(r, headers);
        });
        g.open("GET", "", r -> Reply.ok(Map.of("version", version(r.baseUrl()))));
        flavors.register(g);
        servers.register(g);
        admin.register(g);
        attachments.register(g);
    }
}
