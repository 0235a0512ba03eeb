package io.halcyon.api.volume;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.http.ApiJson;
import io.halcyon.model.volume.Snapshot;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeAttachment;
import io.halcyon.model.volume.VolumeSource;
import io.halcyon.model.volume.VolumeType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Cinder's JSON shapes at microversion 3.0. */
public final class VolumeViews {
    private VolumeViews() {
    }

    static List<Map<String, String>> links(String base, String project, String collection, String id) {
        return List.of(Map.of("rel", "self", "href", base + "/volume/v3/" + project + "/" + collection + "/" + id),
                Map.of("rel", "bookmark", "href", base + "/volume/" + project + "/" + collection + "/" + id));
    }

    public static Map<String, Object> summary(String base, Volume v) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", v.id());
        m.put("name", v.name());
        m.put("links", links(base, v.projectId(), "volumes", v.id()));
        return m;
    }

    public static Map<String, Object> volume(String base, Volume v, AuthContext ctx) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", v.id());
        m.put("name", v.name());
        m.put("description", v.description());
        m.put("status", v.status().wire());
        m.put("size", v.sizeGb());
        m.put("availability_zone", "nova");
        m.put("created_at", ApiJson.micros(v.createdAt()));
        m.put("updated_at", ApiJson.micros(v.updatedAt()));
        var atts = new ArrayList<Map<String, Object>>();
        for (VolumeAttachment a : v.attachments()) {
            var am = new LinkedHashMap<String, Object>();
            am.put("id", v.id());
            am.put("attachment_id", a.attachmentId());
            am.put("volume_id", v.id());
            am.put("server_id", a.serverId());
            am.put("host_name", null);
            am.put("device", a.device());
            am.put("attached_at", ApiJson.micros(a.attachedAt()));
            atts.add(am);
        }
        m.put("attachments", atts);
        m.put("volume_type", v.volumeType());
        m.put("snapshot_id", v.source().kind() == VolumeSource.Kind.SNAPSHOT ? v.source().id() : null);
        m.put("source_volid", v.source().kind() == VolumeSource.Kind.VOLUME ? v.source().id() : null);
        m.put("metadata", v.metadata());
        m.put("bootable", v.bootable() ? "true" : "false");
        m.put("encrypted", false);
        m.put("multiattach", false);
        m.put("replication_status", null);
        m.put("consistencygroup_id", null);
        m.put("user_id", v.userId());
        m.put("os-vol-tenant-attr:tenant_id", v.projectId());
        if (ctx.isAdmin()) {
            m.put("os-vol-host-attr:host", "halcyon@" + v.backend() + "#" + v.backend());
            m.put("os-vol-mig-status-attr:migstat", null);
            m.put("os-vol-mig-status-attr:name_id", null);
        }
        if (!v.imageMetadata().isEmpty()) {
            m.put("volume_image_metadata", v.imageMetadata());
        }
        if (v.failReason() != null && ctx.isAdmin()) {
            m.put("fail_reason", v.failReason());
        }
        m.put("links", links(base, v.projectId(), "volumes", v.id()));
        return m;
    }

    public static Map<String, Object> snapshot(Snapshot s) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", s.id());
        m.put("name", s.name());
        m.put("description", s.description());
        m.put("status", s.status().wire());
        m.put("size", s.sizeGb());
        m.put("volume_id", s.volumeId());
        m.put("created_at", ApiJson.micros(s.createdAt()));
        m.put("updated_at", ApiJson.micros(s.updatedAt()));
        m.put("metadata", s.metadata());
        m.put("os-extended-snapshot-attributes:project_id", s.projectId());
        m.put("os-extended-snapshot-attributes:progress", s.status().wire().equals("available") ? "100%" : "0%");
        return m;
    }

    public static Map<String, Object> type(VolumeType t, boolean admin) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", t.id());
        m.put("name", t.name());
        m.put("description", t.description());
        m.put("is_public", t.isPublic());
        m.put("os-volume-type-access:is_public", t.isPublic());
        m.put("qos_specs_id", null);
        if (admin) {
            var specs = new LinkedHashMap<>(t.extraSpecs());
            specs.putIfAbsent("volume_backend_name", t.backend());
            m.put("extra_specs", specs);
        }
        return m;
    }
}
