package io.halcyon.api.volume;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.auth.PolicyTable;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiJson;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.Ids;
import io.halcyon.model.volume.BackupPolicy;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * Halcyon's backup policies at {@code /halcyon/v1/backup-policies}: a schedule and a retention per
 * volume, or for every volume of a project, carried out by the leader. What Cinder lacks (it
 * leaves scheduling to cron and an external tool).
 */
public final class BackupPolicyApi {
    private static final Pattern INTERVAL = Pattern.compile("(\\d+)([mhd])");
    private static final Set<String> KEYS = Set.of("volume_id", "interval", "full_every", "keep_last", "keep_daily", "keep_weekly",
            "keep_monthly", "enabled");

    private final Resources res;
    private final VolumeService volumes;
    private final Repository<BackupPolicy> policies;

    public BackupPolicyApi(Resources res, VolumeService volumes) {
        this.res = requireNonNull(res, "res is null");
        this.volumes = requireNonNull(volumes, "volumes is null");
        this.policies = res.repo(Kinds.BACKUP_POLICIES);
    }

    public void register(Router router) {
        var g = router.group("/halcyon/v1", FaultStyle.KEYSTONE, PolicyTable.load("halcyon", PolicyTable.Style.HALCYON));
        g.get("/backup-policies", "halcyon:backup_policy:list", r -> {
            res.sync();
            var out = res.backupPolicies().list().stream().map(Versioned::value)
                    .filter(p -> p.projectId().equals(r.auth().projectId()))
                    .sorted(Comparator.comparing(BackupPolicy::createdAt).thenComparing(BackupPolicy::id)).map(BackupPolicyApi::view).toList();
            return Reply.ok(Map.of("backup_policies", out));
        });
        g.get("/backup-policies/{id}", "halcyon:backup_policy:get", r -> Reply.ok(Map.of("backup_policy", view(visible(r.auth(), r.param("id")).value()))));
        g.post("/backup-policies", "halcyon:backup_policy:create", this::create);
        g.put("/backup-policies/{id}", "halcyon:backup_policy:update", this::update);
        g.delete("/backup-policies/{id}", "halcyon:backup_policy:delete", r -> {
            Versioned<BackupPolicy> cur = visible(r.auth(), r.param("id"));
            commit(Txn.builder().when(policies.unchanged(cur.value().id(), cur.revision())).onSuccess(policies.deleteOp(cur.value().id())));
            return Reply.empty(204);
        });
        g.post("/backup-policies/{id}/run", "halcyon:backup_policy:run", r -> {
            Versioned<BackupPolicy> cur = visible(r.auth(), r.param("id"));
            BackupPolicy next = cur.value().runNow(res.clock().now());
            commit(Txn.builder().when(policies.unchanged(next.id(), cur.revision())).onSuccess(policies.put(next)));
            return Reply.json(202, Map.of("backup_policy", view(next)));
        });
    }

    private Versioned<BackupPolicy> visible(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "backup_policy:get");
        res.sync();
        return res.backupPolicies().get(id).filter(p -> p.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> ApiException.notFound("Backup policy " + id + " could not be found."));
    }

    private Reply create(ApiRequest r) {
        Policy.requireMember(r.auth(), "backup_policy:create");
        JsonNode b = Body.object(r.json(), "backup_policy");
        Body.onlyKnown(b, KEYS);
        String volumeId = Body.optionalString(b, "volume_id", 1, 255);
        if (volumeId != null) {
            volumes.visible(r.auth(), volumeId);
        }
        res.sync();
        for (Versioned<BackupPolicy> p : res.backupPolicies().list()) {
            if (p.value().projectId().equals(r.auth().projectId()) && java.util.Objects.equals(p.value().volumeId(), volumeId)) {
                throw ApiException.conflict(volumeId == null ? "The project has a backup policy for all its volumes already: "
                        + p.value().id() + "." : "Volume " + volumeId + " has a backup policy already: " + p.value().id() + ".");
            }
        }
        Instant now = res.clock().now();
        var p = check(new BackupPolicy(Ids.newId(), r.auth().projectId(), volumeId, interval(Body.string(b, "interval", 2, 16)),
                intOr(b, "full_every", 7), intOr(b, "keep_last", 0), intOr(b, "keep_daily", 0), intOr(b, "keep_weekly", 0),
                intOr(b, "keep_monthly", 0), bool(b, "enabled", true), null, now, now));
        commit(Txn.builder().when(policies.absent(p.id())).onSuccess(policies.put(p)));
        return Reply.json(201, Map.of("backup_policy", view(p)));
    }

    private Reply update(ApiRequest r) {
        Policy.requireMember(r.auth(), "backup_policy:update");
        JsonNode b = Body.object(r.json(), "backup_policy");
        Body.onlyKnown(b, Set.of("interval", "full_every", "keep_last", "keep_daily", "keep_weekly", "keep_monthly", "enabled"));
        Versioned<BackupPolicy> cur = visible(r.auth(), r.param("id"));
        BackupPolicy o = cur.value();
        var p = check(new BackupPolicy(o.id(), o.projectId(), o.volumeId(),
                b.has("interval") ? interval(Body.string(b, "interval", 2, 16)) : o.interval(), intOr(b, "full_every", o.fullEvery()),
                intOr(b, "keep_last", o.keepLast()), intOr(b, "keep_daily", o.keepDaily()), intOr(b, "keep_weekly", o.keepWeekly()),
                intOr(b, "keep_monthly", o.keepMonthly()), bool(b, "enabled", o.enabled()), o.lastRunAt(), o.createdAt(), res.clock().now()));
        commit(Txn.builder().when(policies.unchanged(p.id(), cur.revision())).onSuccess(policies.put(p)));
        return Reply.ok(Map.of("backup_policy", view(p)));
    }

    private static BackupPolicy check(BackupPolicy p) {
        if (p.fullEvery() < 1 || p.fullEvery() > 1000) {
            throw ApiException.badRequest("'full_every' must be from 1 (every backup full) to 1000.");
        }
        for (int n : new int[]{p.keepLast(), p.keepDaily(), p.keepWeekly(), p.keepMonthly()}) {
            if (n < 0 || n > 10000) {
                throw ApiException.badRequest("keep_last, keep_daily, keep_weekly and keep_monthly must be from 0 to 10000.");
            }
        }
        if (p.keepLast() + p.keepDaily() + p.keepWeekly() + p.keepMonthly() == 0) {
            throw ApiException.badRequest("A backup policy keeps at least one backup: give keep_last, keep_daily, keep_weekly or keep_monthly.");
        }
        return p;
    }

    static Duration interval(String s) {
        var m = INTERVAL.matcher(s);
        if (!m.matches()) {
            throw ApiException.badRequest("'interval' must be minutes, hours or days, as 30m, 6h or 1d; not '" + s + "'.");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        if (d.compareTo(Duration.ofMinutes(5)) < 0 || d.compareTo(Duration.ofDays(366)) > 0) {
            throw ApiException.badRequest("'interval' must be from 5m to 366d.");
        }
        return d;
    }

    private static int intOr(JsonNode b, String key, int dflt) {
        if (!b.has(key)) {
            return dflt;
        }
        if (!b.get(key).isInt()) {
            throw ApiException.badRequest("'" + key + "' must be an integer.");
        }
        return b.get(key).asInt();
    }

    private static boolean bool(JsonNode b, String key, boolean dflt) {
        if (!b.has(key)) {
            return dflt;
        }
        if (!b.get(key).isBoolean()) {
            throw ApiException.badRequest("'" + key + "' must be true or false.");
        }
        return b.get(key).asBoolean();
    }

    private void commit(Txn.Builder txn) {
        TxnResult r = res.store().txn(txn.build());
        if (!r.succeeded()) {
            throw ApiException.conflict("The backup policy changed meanwhile; retry.");
        }
        res.awaitRevision(r.revision());
    }

    static Map<String, Object> view(BackupPolicy p) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", p.id());
        m.put("project_id", p.projectId());
        m.put("volume_id", p.volumeId());
        m.put("interval", p.interval().toMinutes() % 1440 == 0 ? p.interval().toDays() + "d"
                : p.interval().toMinutes() % 60 == 0 ? p.interval().toHours() + "h" : p.interval().toMinutes() + "m");
        m.put("full_every", p.fullEvery());
        m.put("keep_last", p.keepLast());
        m.put("keep_daily", p.keepDaily());
        m.put("keep_weekly", p.keepWeekly());
        m.put("keep_monthly", p.keepMonthly());
        m.put("enabled", p.enabled());
        m.put("last_run_at", p.lastRunAt() == null ? null : ApiJson.micros(p.lastRunAt()));
        m.put("created_at", ApiJson.micros(p.createdAt()));
        m.put("updated_at", ApiJson.micros(p.updatedAt()));
        return m;
    }
}
