package io.halcyon.api.volume;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.auth.PolicyTable;
import io.halcyon.api.compute.Microversions;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.Paging;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.volume.Snapshot;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeQuota;
import io.halcyon.model.volume.VolumeQuotaRecord;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.model.volume.VolumeType;
import io.halcyon.runtime.ConflictException;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Predicate;

import static java.util.Objects.requireNonNull;

/** Cinder v3 at {@code /volume/v3/{project_id}}: volumes, snapshots, backups, types, actions, limits, quotas. */
public final class VolumeApi {
    private static final Set<String> CREATE_KEYS = Set.of("size", "name", "display_name", "description", "display_description",
            "volume_type", "availability_zone", "metadata", "imageRef", "image_id", "snapshot_id", "source_volid", "consistencygroup_id",
            "backup_id", "multiattach", "group_id", "scheduler_hints", "source_replica");
    private static final Set<String> NOVA_INTERNAL_ACTIONS = Set.of("os-attach", "os-detach", "os-reserve", "os-unreserve",
            "os-begin_detaching", "os-roll_detaching", "os-initialize_connection", "os-terminate_connection", "os-force_detach");
    private static final Set<String> IMAGE_FORMATS = Set.of("raw", "qcow2");

    private final Resources res;
    private final VolumeService volumes;
    private final Predicate<String> projectExists;
    private final BackupApi backups;
    private final Microversions versions = new Microversions("volume", null, 3, 0, 0);

    public VolumeApi(Resources res, VolumeService volumes, BackupService backups, Predicate<String> projectExists) {
        this.res = requireNonNull(res, "res is null");
        this.volumes = requireNonNull(volumes, "volumes is null");
        this.backups = new BackupApi(backups);
        this.projectExists = requireNonNull(projectExists, "projectExists is null");
    }

    private Map<String, Object> versionsDoc(String base) {
        var v = new LinkedHashMap<String, Object>();
        v.put("id", "v3.0");
        v.put("status", "CURRENT");
        v.put("version", versions.max());
        v.put("min_version", versions.min());
        v.put("updated", "2016-02-08T12:20:21Z");
        v.put("links", List.of(Map.of("rel", "self", "href", base + "/volume/v3/")));
        v.put("media-types", List.of(Map.of("base", "application/json", "type", "application/vnd.openstack.volume+json;version=3")));
        return Map.of("versions", List.of(v));
    }

    public void register(Router router) {
        var root = router.group("/volume", FaultStyle.NOVA);
        root.open("GET", "", r -> Reply.json(300, versionsDoc(r.baseUrl())));
        var v3 = router.group("/volume/v3", FaultStyle.NOVA);
        v3.open("GET", "", r -> Reply.ok(versionsDoc(r.baseUrl())));
        var g = router.group("/volume/v3/{project}", FaultStyle.NOVA, PolicyTable.load("volume", PolicyTable.Style.NOVA));
        g.hook((r, headers) -> {
            versions.check(r, headers);
            if (r.authenticated() && !r.auth().agent() && !r.param("project").equals(r.auth().projectId()) && !r.auth().isAdmin()) {
                throw ApiException.forbidden("The project in the URL (" + r.param("project") + ") is not the project of your token.");
            }
        });
        g.open("GET", "", r -> Reply.ok(versionsDoc(r.baseUrl())));
        g.post("/volumes", "volume:create", this::create);
        g.get("/volumes", "volume:get_all", r -> list(r, false));
        g.get("/volumes/detail", "volume:get_all", r -> list(r, true));
        g.get("/volumes/{id}", "volume:get", r -> Reply.ok(Map.of("volume", VolumeViews.volume(r.baseUrl(), volumes.visible(r.auth(), r.param("id")).value(), r.auth()))));
        g.put("/volumes/{id}", "volume:update", this::update);
        g.delete("/volumes/{id}", "volume:delete", r -> {
            volumes.delete(r.auth(), r.param("id"), truthy(r.query("cascade")), false, r.requestId());
            return Reply.empty(202);
        });
        g.post("/volumes/{id}/action", "volume:volume_action", this::action);
        g.get("/volumes/{id}/metadata", "volume:get_volume_metadata", r -> Reply.ok(Map.of("metadata", volumes.visible(r.auth(), r.param("id")).value().metadata())));
        g.post("/volumes/{id}/metadata", "volume:create_volume_metadata", r -> setMetadata(r, false));
        g.put("/volumes/{id}/metadata", "volume:update_volume_metadata", r -> setMetadata(r, true));
        g.get("/volumes/{id}/metadata/{key}", "volume:get_volume_metadata", r -> {
            String v = volumes.visible(r.auth(), r.param("id")).value().metadata().get(r.param("key"));
            if (v == null) {
                throw ApiException.notFound("Metadata item was not found");
            }
            return Reply.ok(Map.of("meta", Map.of(r.param("key"), v)));
        });
        g.delete("/volumes/{id}/metadata/{key}", "volume:delete_volume_metadata", r -> {
            String key = r.param("key");
            if (!volumes.visible(r.auth(), r.param("id")).value().metadata().containsKey(key)) {
                throw ApiException.notFound("Metadata item was not found");
            }
            volumes.modify(r.auth(), r.param("id"), "update_volume_metadata", v -> {
                var md = new TreeMap<>(v.metadata());
                md.remove(key);
                return v.withDetails(v.name(), v.description(), md, res.clock().now());
            });
            return Reply.empty(200);
        });

        g.post("/snapshots", "volume:create_snapshot", this::createSnapshot);
        g.get("/snapshots", "volume:get_all_snapshots", r -> listSnapshots(r, false));
        g.get("/snapshots/detail", "volume:get_all_snapshots", r -> listSnapshots(r, true));
        g.get("/snapshots/{id}", "volume:get_snapshot", r -> Reply.ok(Map.of("snapshot", VolumeViews.snapshot(volumes.visibleSnapshot(r.auth(), r.param("id")).value()))));
        g.put("/snapshots/{id}", "volume:update_snapshot", this::updateSnapshot);
        g.delete("/snapshots/{id}", "volume:delete_snapshot", r -> {
            volumes.deleteSnapshot(r.auth(), r.param("id"), false);
            return Reply.empty(202);
        });
        g.post("/snapshots/{id}/action", "volume:snapshot_action", r -> {
            JsonNode body = r.json();
            if (body == null || !body.isObject() || body.size() != 1 || !body.has("os-force_delete")) {
                volumes.visibleSnapshot(r.auth(), r.param("id"));
                throw ApiException.badRequest("There is no such action; snapshots take os-force_delete.");
            }
            volumes.deleteSnapshot(r.auth(), r.param("id"), true);
            return Reply.empty(202);
        });

        backups.register(g);

        g.get("/types", "volume_extension:type_get_all", this::types);
        g.get("/types/{id}", "volume_extension:type_get", r -> {
            if (r.param("id").equals("default")) {
                return Reply.ok(Map.of("volume_type", VolumeViews.type(volumes.defaultType(), r.auth().isAdmin())));
            }
            VolumeType t = res.volumeTypes().list().stream().map(Versioned::value)
                    .filter(x -> x.id().equals(r.param("id")) || x.name().equals(r.param("id"))).findFirst()
                    .orElseThrow(() -> ApiException.notFound("Volume type " + r.param("id") + " could not be found."));
            return Reply.ok(Map.of("volume_type", VolumeViews.type(t, r.auth().isAdmin())));
        });
        g.get("/limits", "limits_extension:used_limits", this::limits);
        g.get("/os-quota-sets/{target}", "volume_extension:quotas:show", this::quotaShow);
        g.get("/os-quota-sets/{target}/defaults", "volume_extension:quotas:show", r -> {
            return Reply.ok(Map.of("quota_set", quotaView(r.param("target"), volumes.quotas().defaults(), null)));
        });
        g.put("/os-quota-sets/{target}", "volume_extension:quotas:update", this::quotaUpdate);
        g.get("/os-availability-zone", "volume_extension:availability_zone_list", r -> Reply.ok(Map.of("availabilityZoneInfo",
                List.of(Map.of("zoneName", "nova", "zoneState", Map.of("available", true))))));
    }

    static boolean truthy(String s) {
        return s != null && Set.of("1", "true", "t", "yes", "y", "on").contains(s.toLowerCase());
    }

    private Reply create(ApiRequest r) {
        JsonNode v = Body.object(r.json(), "volume");
        Body.onlyKnown(v, CREATE_KEYS);
        if (Body.has(v, "backup_id") || Body.has(v, "consistencygroup_id") || Body.has(v, "group_id") || Body.has(v, "source_replica")) {
            throw ApiException.badRequest("Creating volumes from backups, groups or replicas is not supported.");
        }
        Integer size = Body.optionalInt(v, "size", 1, Integer.MAX_VALUE, true);
        if (v.has("size") && !v.get("size").isNull() && size == null) {
            throw ApiException.badRequest("Invalid input received: 'size' must be a positive integer.");
        }
        String name = first(Body.optionalString(v, "name", 0, 255), Body.optionalString(v, "display_name", 0, 255));
        String description = first(Body.optionalString(v, "description", 0, 255), Body.optionalString(v, "display_description", 0, 255));
        String image = first(Body.optionalString(v, "imageRef", 1, 255), Body.optionalString(v, "image_id", 1, 255));
        Boolean multi = Body.optionalBool(v, "multiattach");
        var req = new VolumeService.CreateRequest(name, description, size, Body.optionalString(v, "volume_type", 1, 255),
                Body.optionalString(v, "availability_zone", 1, 255), Body.stringMap(v, "metadata", 255, 255), image,
                Body.optionalString(v, "snapshot_id", 1, 255), Body.optionalString(v, "source_volid", 1, 255), multi != null && multi);
        Volume created = volumes.create(r.auth(), req, r.requestId());
        return Reply.json(202, Map.of("volume", VolumeViews.volume(r.baseUrl(), created, r.auth())));
    }

    static String first(String a, String b) {
        return a != null ? a : b;
    }

    private Reply list(ApiRequest r, boolean detail) {
        AuthContext ctx = r.auth();
        boolean all = truthy(r.query("all_tenants")) && ctx.isAdmin();
        String name = r.query("name");
        String status = r.query("status");
        String project = ctx.isAdmin() ? first(r.query("project_id"), r.query("tenant_id")) : null;
        var out = new ArrayList<Map<String, Object>>();
        var matched = new ArrayList<Volume>();
        for (Volume v : volumes.list(ctx, all || project != null)) {
            if ((name != null && !name.equals(v.name())) || (status != null && !status.equals(v.status().wire()))
                    || (project != null && !project.equals(v.projectId()))) {
                continue;
            }
            matched.add(v);
        }
        for (Volume v : page(r, matched, Volume::id)) {
            out.add(detail ? VolumeViews.volume(r.baseUrl(), v, ctx) : VolumeViews.summary(r.baseUrl(), v));
        }
        return Reply.ok(Map.of("volumes", out));
    }

    static <T> List<T> page(ApiRequest r, List<T> sorted, Function<T, String> id) {
        String limitText = r.query("limit");
        int limit = Integer.MAX_VALUE;
        if (limitText != null) {
            try {
                limit = Integer.parseInt(limitText);
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("Invalid input received: limit must be an integer.");
            }
            if (limit < 0) {
                throw ApiException.badRequest("Invalid input received: limit must be non-negative.");
            }
        }
        String marker = r.query("marker");
        int start = Paging.start(sorted, id, marker, "Invalid input received: marker [" + marker + "] not found.");
        return sorted.subList(start, (int) Math.min(sorted.size(), (long) start + limit));
    }

    private Reply update(ApiRequest r) {
        JsonNode v = Body.object(r.json(), "volume");
        Body.onlyKnown(v, Set.of("name", "display_name", "description", "display_description", "metadata"));
        String name = first(Body.optionalString(v, "name", 0, 255), Body.optionalString(v, "display_name", 0, 255));
        String description = first(Body.optionalString(v, "description", 0, 255), Body.optionalString(v, "display_description", 0, 255));
        Map<String, String> md = Body.stringMap(v, "metadata", 255, 255);
        Volume updated = volumes.modify(r.auth(), r.param("id"), "update", cur -> cur.withDetails(
                v.has("name") || v.has("display_name") ? name : cur.name(),
                v.has("description") || v.has("display_description") ? description : cur.description(),
                md == null ? cur.metadata() : md, res.clock().now()));
        return Reply.ok(Map.of("volume", VolumeViews.volume(r.baseUrl(), updated, r.auth())));
    }

    private Reply setMetadata(ApiRequest r, boolean replace) {
        Map<String, String> md = Body.stringMap(r.json(), "metadata", 255, 255);
        if (md == null) {
            throw ApiException.badRequest("'metadata' is a required property");
        }
        Volume updated = volumes.modify(r.auth(), r.param("id"), "update_volume_metadata", cur -> {
            var next = replace ? new TreeMap<String, String>() : new TreeMap<>(cur.metadata());
            next.putAll(md);
            return cur.withDetails(cur.name(), cur.description(), next, res.clock().now());
        });
        return Reply.ok(Map.of("metadata", updated.metadata()));
    }

    private Reply action(ApiRequest r) {
        JsonNode body = r.json();
        if (body.size() != 1) {
            throw ApiException.badRequest("An action body must name exactly one action.");
        }
        String action = body.fieldNames().next();
        JsonNode arg = body.get(action);
        String id = r.param("id");
        switch (action) {
            case "os-extend" -> {
                JsonNode a = requireObject(arg, action);
                int size = Body.integer(a, "new_size", 1, Integer.MAX_VALUE, true);
                volumes.extend(r.auth(), id, size);
                return Reply.empty(202);
            }
            case "os-volume_upload_image" -> {
                JsonNode a = requireObject(arg, action);
                String name = Body.string(a, "image_name", 1, 255);
                String disk = Body.optionalString(a, "disk_format", 1, 20);
                disk = disk == null ? "raw" : disk;
                if (!IMAGE_FORMATS.contains(disk)) {
                    throw ApiException.badRequest("Invalid disk-format '" + disk + "' specified; allowed: qcow2, raw.");
                }
                String container = Body.optionalString(a, "container_format", 1, 20);
                Boolean force = Body.optionalBool(a, "force");
                String visibility = Body.optionalString(a, "visibility", 1, 20);
                var up = volumes.upload(r.auth(), id, name, disk, container == null ? "bare" : container, visibility,
                        force != null && force);
                var m = new LinkedHashMap<String, Object>();
                m.put("id", id);
                m.put("updated_at", io.halcyon.api.http.ApiJson.micros(up.volume().updatedAt()));
                m.put("status", up.volume().status().wire());
                m.put("display_description", up.volume().description());
                m.put("size", up.volume().sizeGb());
                m.put("volume_type", Map.of("name", up.volume().volumeType()));
                m.put("image_id", up.image().id());
                m.put("container_format", up.image().containerFormat());
                m.put("disk_format", up.image().diskFormat());
                m.put("image_name", up.image().name());
                return Reply.json(202, Map.of("os-volume_upload_image", m));
            }
            case "os-force_delete" -> {
                volumes.delete(r.auth(), id, false, true, r.requestId());
                return Reply.empty(202);
            }
            case "os-set_bootable" -> {
                JsonNode a = requireObject(arg, action);
                Boolean bootable = Body.optionalBool(a, "bootable");
                if (bootable == null) {
                    throw ApiException.badRequest("Invalid input received: bootable is required and must be a boolean.");
                }
                volumes.modify(r.auth(), id, "update", v -> v.withBootable(bootable, res.clock().now()));
                return Reply.empty(200);
            }
            case "os-reset_status" -> {
                Policy.requireAdmin(r.auth(), "volume_extension:volume_admin_actions:reset_status");
                JsonNode a = requireObject(arg, action);
                String status = Body.string(a, "status", 1, 30);
                VolumeStatus target = null;
                for (VolumeStatus s : VolumeStatus.values()) {
                    if (s.wire().equals(status)) {
                        target = s;
                    }
                }
                if (target == null || !Set.of(VolumeStatus.AVAILABLE, VolumeStatus.ERROR, VolumeStatus.IN_USE, VolumeStatus.ERROR_DELETING)
                        .contains(target)) {
                    throw ApiException.badRequest("Invalid input received: status must be available, in-use, error or error_deleting.");
                }
                VolumeStatus finalTarget = target;
                volumes.modify(r.auth(), id, "reset_status", v -> v.withStatus(finalTarget, res.clock().now()));
                return Reply.empty(202);
            }
            default -> {
                volumes.visible(r.auth(), id);
                if (NOVA_INTERNAL_ACTIONS.contains(action)) {
                    throw ApiException.badRequest("Attach and detach volumes through the compute API (os-volume_attachments).");
                }
                throw ApiException.badRequest("There is no such action: " + action);
            }
        }
    }

    private static JsonNode requireObject(JsonNode arg, String action) {
        if (arg == null || !arg.isObject()) {
            throw ApiException.badRequest("Invalid input received: " + action + " needs an object.");
        }
        return arg;
    }

    private Reply createSnapshot(ApiRequest r) {
        JsonNode s = Body.object(r.json(), "snapshot");
        Body.onlyKnown(s, Set.of("volume_id", "force", "name", "display_name", "description", "display_description", "metadata"));
        String volumeId = Body.string(s, "volume_id", 1, 255);
        Boolean force = Body.optionalBool(s, "force");
        String name = first(Body.optionalString(s, "name", 0, 255), Body.optionalString(s, "display_name", 0, 255));
        String description = first(Body.optionalString(s, "description", 0, 255), Body.optionalString(s, "display_description", 0, 255));
        Snapshot snap = volumes.createSnapshot(r.auth(), volumeId, name, description, Body.stringMap(s, "metadata", 255, 255),
                force != null && force, r.requestId());
        return Reply.json(202, Map.of("snapshot", VolumeViews.snapshot(snap)));
    }

    private Reply listSnapshots(ApiRequest r, boolean detail) {
        AuthContext ctx = r.auth();
        boolean all = truthy(r.query("all_tenants")) && ctx.isAdmin();
        String name = r.query("name");
        String status = r.query("status");
        String volumeId = r.query("volume_id");
        var matched = new ArrayList<Snapshot>();
        for (Snapshot s : volumes.listSnapshots(ctx, all)) {
            if ((name != null && !name.equals(s.name())) || (status != null && !status.equals(s.status().wire()))
                    || (volumeId != null && !volumeId.equals(s.volumeId()))) {
                continue;
            }
            matched.add(s);
        }
        var out = new ArrayList<Map<String, Object>>();
        for (Snapshot s : page(r, matched, Snapshot::id)) {
            out.add(detail ? VolumeViews.snapshot(s) : Map.of("id", s.id(), "name", s.name() == null ? "" : s.name(),
                    "status", s.status().wire(), "volume_id", s.volumeId(), "size", s.sizeGb()));
        }
        return Reply.ok(Map.of("snapshots", out));
    }

    private Reply updateSnapshot(ApiRequest r) {
        JsonNode s = Body.object(r.json(), "snapshot");
        Body.onlyKnown(s, Set.of("name", "display_name", "description", "display_description", "metadata"));
        String name = first(Body.optionalString(s, "name", 0, 255), Body.optionalString(s, "display_name", 0, 255));
        String description = first(Body.optionalString(s, "description", 0, 255), Body.optionalString(s, "display_description", 0, 255));
        Map<String, String> md = Body.stringMap(s, "metadata", 255, 255);
        Snapshot updated = volumes.updateSnapshot(r.auth(), r.param("id"), cur -> cur.withDetails(
                s.has("name") || s.has("display_name") ? name : cur.name(),
                s.has("description") || s.has("display_description") ? description : cur.description(),
                md == null ? cur.metadata() : md, res.clock().now()));
        return Reply.ok(Map.of("snapshot", VolumeViews.snapshot(updated)));
    }

    private Reply types(ApiRequest r) {
        Policy.requireReader(r.auth(), "volume_extension:type_get_all");
        res.sync();
        var out = new ArrayList<Map<String, Object>>();
        for (var t : res.volumeTypes().list()) {
            out.add(VolumeViews.type(t.value(), r.auth().isAdmin()));
        }
        return Reply.ok(Map.of("volume_types", out));
    }

    private Reply limits(ApiRequest r) {
        Policy.requireReader(r.auth(), "limits_extension:used_limits");
        res.sync();
        String project = r.auth().projectId();
        VolumeQuota q = volumes.quotas().of(project);
        var used = volumes.quotas().usage(project);
        var a = new LinkedHashMap<String, Object>();
        a.put("totalSnapshotsUsed", used.snapshots());
        a.put("maxTotalBackups", q.backups());
        a.put("maxTotalVolumeGigabytes", q.gigabytes());
        a.put("maxTotalSnapshots", q.snapshots());
        a.put("maxTotalBackupGigabytes", q.backupGigabytes());
        a.put("totalBackupGigabytesUsed", 0);
        a.put("maxTotalVolumes", q.volumes());
        a.put("totalVolumesUsed", used.volumes());
        a.put("totalBackupsUsed", 0);
        a.put("totalGigabytesUsed", used.gigabytes());
        return Reply.ok(Map.of("limits", Map.of("rate", List.of(), "absolute", a)));
    }

    private void checkTarget(ApiRequest r, String target, String action) {
        AuthContext ctx = r.auth();
        if (!ctx.isAdmin() && !target.equals(ctx.projectId())) {
            throw ApiException.forbidden("Policy doesn't allow " + action + " to be performed.");
        }
        if (!projectExists.test(target)) {
            throw ApiException.badRequest("Invalid input received: project " + target + " does not exist.");
        }
    }

    private Reply quotaShow(ApiRequest r) {
        Policy.requireReader(r.auth(), "volume_extension:quotas:show");
        res.sync();
        String target = r.param("target");
        checkTarget(r, target, "volume_extension:quotas:show");
        boolean usage = truthy(r.query("usage"));
        return Reply.ok(Map.of("quota_set", quotaView(target, volumes.quotas().of(target), usage ? volumes.quotas().usage(target) : null)));
    }

    private Map<String, Object> quotaView(String project, VolumeQuota q, VolumeQuotas.Usage used) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", project);
        put(m, "volumes", q.volumes(), used == null ? null : used.volumes());
        put(m, "snapshots", q.snapshots(), used == null ? null : used.snapshots());
        put(m, "gigabytes", q.gigabytes(), used == null ? null : used.gigabytes());
        put(m, "backups", q.backups(), used == null ? null : used.backups());
        put(m, "backup_gigabytes", q.backupGigabytes(), used == null ? null : used.backupGigabytes());
        put(m, "per_volume_gigabytes", q.perVolumeGigabytes(), used == null ? null : 0);
        put(m, "groups", q.groups(), used == null ? null : 0);
        for (var t : res.volumeTypes().list()) {
            String n = t.value().name();
            put(m, "volumes_" + n, -1, used == null ? null : 0);
            put(m, "gigabytes_" + n, -1, used == null ? null : 0);
            put(m, "snapshots_" + n, -1, used == null ? null : 0);
        }
        return m;
    }

    private static void put(Map<String, Object> m, String key, int limit, Integer inUse) {
        m.put(key, inUse == null ? limit : Map.of("limit", limit, "in_use", inUse, "reserved", 0, "allocated", 0));
    }

    private Reply quotaUpdate(ApiRequest r) {
        Policy.requireAdmin(r.auth(), "volume_extension:quotas:update");
        res.sync();
        String target = r.param("target");
        checkTarget(r, target, "volume_extension:quotas:update");
        JsonNode q = Body.object(r.json(), "quota_set");
        VolumeQuota cur = volumes.quotas().of(target);
        var used = volumes.quotas().usage(target);
        var known = new java.util.HashSet<>(Set.of("tenant_id", "volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes",
                "per_volume_gigabytes", "groups"));
        q.fieldNames().forEachRemaining(k -> {
            if (!known.contains(k) && !k.matches("(volumes|gigabytes|snapshots)_.+")) {
                throw ApiException.badRequest("Bad key(s) in quota set: " + k);
            }
        });
        var next = new VolumeQuota(limit(q, "volumes", cur.volumes(), used.volumes()), limit(q, "gigabytes", cur.gigabytes(), used.gigabytes()),
                limit(q, "snapshots", cur.snapshots(), used.snapshots()), limit(q, "per_volume_gigabytes", cur.perVolumeGigabytes(), 0),
                limit(q, "backups", cur.backups(), used.backups()), limit(q, "backup_gigabytes", cur.backupGigabytes(), used.backupGigabytes()),
                limit(q, "groups", cur.groups(), 0));
        var repo = res.repo(Kinds.VOLUME_QUOTAS);
        var existing = res.volumeQuotas().get(target);
        try {
            long rev = existing.isPresent() ? repo.update(new VolumeQuotaRecord(target, next), existing.get().revision())
                    : repo.create(new VolumeQuotaRecord(target, next));
            res.awaitRevision(rev);
        } catch (ConflictException e) {
            throw ApiException.conflict("Quota for project " + target + " changed concurrently; retry.");
        }
        var view = quotaView(target, next, null);
        view.remove("id");
        return Reply.ok(Map.of("quota_set", view));
    }

    private static int limit(JsonNode q, String key, int current, int used) {
        Integer v = Body.optionalInt(q, key, -1, Integer.MAX_VALUE, true);
        if (v == null) {
            return current;
        }
        if (v >= 0 && v < used) {
            throw ApiException.badRequest("Invalid input received: Quota " + key + " limit must be equal or greater than existing resources. "
                    + "Current usage is " + used + " and the requested limit is " + v + ".");
        }
        return v;
    }
}
