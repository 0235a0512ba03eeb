package io.halcyon.api.volume;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.http.ApiJson;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.auth.PolicyTable;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.volume.Backup;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Halcyon's server backups at {@code /halcyon/v1/server-backups}: every volume of a server backed
 * up at one instant (Cinder backs up one volume at a time; its consistency groups need a
 * storage-side snapshot). Each volume's backup is an ordinary Cinder backup as well.
 */
public final class ServerBackupApi {
    private final ServerBackupService service;
    private final BackupService backups;

    public ServerBackupApi(ServerBackupService service, BackupService backups) {
        this.service = requireNonNull(service, "service is null");
        this.backups = requireNonNull(backups, "backups is null");
    }

    public void register(Router router) {
        var g = router.group("/halcyon/v1", FaultStyle.KEYSTONE, PolicyTable.load("halcyon", PolicyTable.Style.HALCYON));
        g.get("/server-backups", "halcyon:server_backup:list", r -> {
            boolean all = VolumeApi.truthy(r.query("all_tenants"));
            String serverId = r.query("server_id");
            var out = new ArrayList<Map<String, Object>>();
            for (var v : service.list(r.auth(), all)) {
                if (serverId == null || serverId.equals(v.serverId())) {
                    out.add(view(r, v));
                }
            }
            return Reply.ok(Map.of("server_backups", out));
        });
        g.get("/server-backups/{id}", "halcyon:server_backup:get", r -> Reply.ok(Map.of("server_backup", view(r, service.show(r.auth(), r.param("id"))))));
        g.post("/server-backups", "halcyon:server_backup:create", this::create);
        g.delete("/server-backups/{id}", "halcyon:server_backup:delete", r -> {
            service.delete(r.auth(), r.param("id"));
            return Reply.empty(202);
        });
        g.post("/server-backups/{id}/restore", "halcyon:server_backup:restore", r -> {
            JsonNode body = r.body().length == 0 ? null : r.json();
            String prefix = null;
            if (body != null) {
                JsonNode b = Body.object(body, "restore");
                Body.onlyKnown(b, Set.of("name"));
                prefix = Body.optionalString(b, "name", 1, 200);
            }
            var out = new ArrayList<Map<String, Object>>();
            for (var x : service.restore(r.auth(), r.param("id"), prefix)) {
                var m = new LinkedHashMap<String, Object>();
                m.put("device", x.device());
                m.put("backup_id", x.backupId());
                m.put("volume_id", x.volumeId());
                m.put("volume_name", x.volumeName());
                out.add(m);
            }
            return Reply.json(202, Map.of("restore", Map.of("server_backup_id", r.param("id"), "volumes", out)));
        });
    }

    private Reply create(ApiRequest r) {
        JsonNode b = Body.object(r.json(), "server_backup");
        Body.onlyKnown(b, Set.of("server_id", "name", "description", "incremental", "force"));
        Boolean incremental = Body.optionalBool(b, "incremental");
        Boolean force = Body.optionalBool(b, "force");
        var v = service.create(r.auth(), Body.string(b, "server_id", 1, 255), Body.optionalString(b, "name", 0, 255),
                Body.optionalString(b, "description", 0, 255), incremental != null && incremental, force != null && force);
        return Reply.json(202, Map.of("server_backup", view(r, v)));
    }

    private Map<String, Object> view(ApiRequest r, ServerBackupService.View v) {
        Backup f = v.first();
        var m = new LinkedHashMap<String, Object>();
        m.put("id", v.id());
        m.put("name", f.name());
        m.put("description", f.description());
        m.put("server_id", v.serverId());
        m.put("project_id", v.projectId());
        m.put("status", v.status());
        m.put("is_incremental", v.members().stream().anyMatch(Backup::incremental));
        m.put("size", v.members().stream().mapToInt(Backup::sizeGb).sum());
        m.put("created_at", ApiJson.micros(f.createdAt()));
        var members = new ArrayList<Map<String, Object>>();
        for (Backup b : v.members()) {
            var bm = BackupApi.view(r.baseUrl(), b, backups.hasDependents(b));
            bm.put("device", b.group().device());
            members.add(bm);
        }
        m.put("backups", members);
        return m;
    }
}
