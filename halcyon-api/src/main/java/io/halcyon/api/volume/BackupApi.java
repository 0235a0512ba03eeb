package io.halcyon.api.volume;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiJson;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.volume.Backup;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/** Cinder v3 backups at {@code /volume/v3/{project_id}/backups}. */
final class BackupApi {
    /** Halcyon's field: a protected backup is refused deletion and never pruned (as Proxmox's protected backups). */
    static final String PROTECTED = "halcyon:protected";

    private final BackupService backups;

    BackupApi(BackupService backups) {
        this.backups = requireNonNull(backups, "backups is null");
    }

    void register(Router.Group g) {
        g.post("/backups", "backup:create", this::create);
        g.get("/backups", "backup:get_all", r -> list(r, false));
        g.get("/backups/detail", "backup:get_all", r -> list(r, true));
        g.get("/backups/{id}", "backup:get", r -> {
            Backup b = backups.visible(r.auth(), r.param("id")).value();
            return Reply.ok(Map.of("backup", view(r.baseUrl(), b, backups.hasDependents(b))));
        });
        g.put("/backups/{id}", "backup:update", r -> {
            JsonNode b = Body.object(r.json(), "backup");
            Body.onlyKnown(b, Set.of("name", "description", PROTECTED));
            Backup up = backups.update(r.auth(), r.param("id"), Body.optionalString(b, "name", 0, 255),
                    Body.optionalString(b, "description", 0, 255), Body.optionalBool(b, PROTECTED));
            return Reply.ok(Map.of("backup", view(r.baseUrl(), up, backups.hasDependents(up))));
        });
        g.delete("/backups/{id}", "backup:delete", r -> {
            backups.delete(r.auth(), r.param("id"), false);
            return Reply.empty(202);
        });
        g.post("/backups/{id}/action", "backup:backup_action", r -> {
            JsonNode body = r.json();
            if (body == null || !body.isObject() || body.size() != 1 || !body.has("os-force_delete")) {
                backups.visible(r.auth(), r.param("id"));
                throw ApiException.badRequest("There is no such action; backups take os-force_delete.");
            }
            backups.delete(r.auth(), r.param("id"), true);
            return Reply.empty(202);
        });
        g.post("/backups/{id}/restore", "backup:restore", r -> {
            JsonNode body = Body.object(r.json(), "restore");
            Body.onlyKnown(body, Set.of("volume_id", "name"));
            var res = backups.restore(r.auth(), r.param("id"), Body.optionalString(body, "volume_id", 1, 255),
                    Body.optionalString(body, "name", 0, 255));
            var m = new LinkedHashMap<String, Object>();
            m.put("backup_id", res.backupId());
            m.put("volume_id", res.volumeId());
            m.put("volume_name", res.volumeName());
            return Reply.json(202, Map.of("restore", m));
        });
    }

    private Reply create(ApiRequest r) {
        JsonNode b = Body.object(r.json(), "backup");
        Body.onlyKnown(b, Set.of("volume_id", "container", "name", "description", "incremental", "force", "snapshot_id",
                "metadata", "availability_zone", PROTECTED));
        if (b.hasNonNull("snapshot_id")) {
            throw ApiException.badRequest("Invalid input received: backups of snapshots are not supported; back up the volume.");
        }
        String container = Body.optionalString(b, "container", 0, 255);
        if (container != null && !container.isEmpty()) {
            throw ApiException.badRequest("Invalid input received: this cloud has one backup repository; leave container unset.");
        }
        Boolean incremental = Body.optionalBool(b, "incremental");
        Boolean force = Body.optionalBool(b, "force");
        Boolean protect = Body.optionalBool(b, PROTECTED);
        Backup created = backups.create(r.auth(), Body.string(b, "volume_id", 1, 255), Body.optionalString(b, "name", 0, 255),
                Body.optionalString(b, "description", 0, 255), incremental != null && incremental, force != null && force,
                protect != null && protect);
        var m = new LinkedHashMap<String, Object>();
        m.put("id", created.id());
        m.put("name", created.name());
        m.put("links", links(r.baseUrl(), created));
        return Reply.json(202, Map.of("backup", m));
    }

    private Reply list(ApiRequest r, boolean detail) {
        AuthContext ctx = r.auth();
        boolean all = VolumeApi.truthy(r.query("all_tenants")) && ctx.isAdmin();
        String name = r.query("name");
        String status = r.query("status");
        String volumeId = r.query("volume_id");
        var matched = new ArrayList<Backup>();
        for (Backup b : backups.list(ctx, all)) {
            if ((name != null && !name.equals(b.name())) || (status != null && !status.equals(b.status().wire()))
                    || (volumeId != null && !volumeId.equals(b.volumeId()))) {
                continue;
            }
            matched.add(b);
        }
        var out = new ArrayList<Map<String, Object>>();
        for (Backup b : VolumeApi.page(r, matched, Backup::id)) {
            if (detail) {
                out.add(view(r.baseUrl(), b, backups.hasDependents(b)));
            } else {
                var m = new LinkedHashMap<String, Object>();
                m.put("id", b.id());
                m.put("name", b.name());
                m.put("links", links(r.baseUrl(), b));
                out.add(m);
            }
        }
        return Reply.ok(Map.of("backups", out));
    }

    static List<Map<String, String>> links(String base, Backup b) {
        String self = base + "/volume/v3/" + b.projectId() + "/backups/" + b.id();
        return List.of(Map.of("rel", "self", "href", self), Map.of("rel", "bookmark", "href", self));
    }

    /** Cinder's backup view, with what the backup read and stored as Halcyon's own fields. */
    static Map<String, Object> view(String base, Backup b, boolean dependents) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", b.id());
        m.put("name", b.name());
        m.put("description", b.description());
        m.put("status", b.status().wire());
        m.put("fail_reason", b.failReason());
        m.put("availability_zone", "nova");
        m.put("volume_id", b.volumeId());
        m.put("snapshot_id", null);
        m.put("container", "halcyon");
        m.put("size", b.sizeGb());
        m.put("object_count", b.stats() == null ? 0 : b.stats().chunks());
        m.put("is_incremental", b.incremental());
        m.put("has_dependent_backups", dependents);
        m.put("created_at", ApiJson.micros(b.createdAt()));
        m.put("updated_at", ApiJson.micros(b.updatedAt()));
        m.put("data_timestamp", ApiJson.micros(b.dataTimestamp() == null ? b.createdAt() : b.dataTimestamp()));
        m.put("links", links(base, b));
        if (b.group() != null) {
            m.put("halcyon:server_backup_id", b.group().id());
        }
        m.put(PROTECTED, b.protectedBackup());
        m.put("halcyon:policy_id", b.policyId());
        if (b.stats() != null) {
            m.put("halcyon:mode", b.stats().mode());
            m.put("halcyon:note", b.stats().note());
            m.put("halcyon:bytes_read", b.stats().bytesRead());
            m.put("halcyon:bytes_stored", b.stats().bytesStored());
            m.put("halcyon:bytes_skipped", b.stats().bytesSkipped());
        }
        return m;
    }
}
