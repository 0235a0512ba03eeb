package io.halcyon.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.Ids;
import io.halcyon.model.compute.ServerGroup;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Nova's server groups at 2.1 ({@code /os-server-groups}): {@code anti-affinity} and
 * {@code affinity}, one policy per group, within the project's server_groups quota. Servers join
 * a group at creation ({@code os:scheduler_hints: {group: ID}}).
 */
public final class ServerGroupApi {
    static final Set<String> POLICIES = Set.of(ServerGroup.ANTI_AFFINITY, ServerGroup.AFFINITY);

    private final Resources res;
    private final ComputeQuotas quotas;
    private final Repository<ServerGroup> groups;

    public ServerGroupApi(Resources res, ComputeQuotas quotas) {
        this.res = requireNonNull(res, "res is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.groups = res.repo(Kinds.SERVER_GROUPS);
    }

    public void register(Router.Group g) {
        g.post("/os-server-groups", "os_compute_api:os-server-groups:create", this::create);
        g.get("/os-server-groups", "os_compute_api:os-server-groups:index", this::list);
        g.get("/os-server-groups/{id}", "os_compute_api:os-server-groups:show", r -> Reply.ok(Map.of("server_group", view(visible(r.auth(), r.param("id")).value()))));
        g.delete("/os-server-groups/{id}", "os_compute_api:os-server-groups:delete", this::delete);
    }

    /** A group the caller may see, or 404 as Nova answers. */
    public Versioned<ServerGroup> visible(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "os_compute_api:os-server-groups:show");
        res.sync();
        return res.serverGroups().get(id).filter(v -> ctx.isAdmin() || v.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> ApiException.notFound("Instance group " + id + " could not be found."));
    }

    private Reply create(ApiRequest r) {
        AuthContext ctx = r.auth();
        Policy.requireMember(ctx, "os_compute_api:os-server-groups:create");
        JsonNode g = Body.object(r.json(), "server_group");
        Body.onlyKnown(g, Set.of("name", "policies"));
        String name = Body.name(g, "name", 255);
        JsonNode p = g.get("policies");
        if (p == null || !p.isArray() || p.size() != 1 || !p.get(0).isTextual() || !POLICIES.contains(p.get(0).asText())) {
            throw ApiException.badRequest("Invalid input for field/attribute policies. Value: " + p
                    + ". It must hold exactly one of anti-affinity, affinity.");
        }
        res.sync();
        int limit = quotas.of(ctx.projectId()).serverGroups();
        if (limit >= 0 && res.serverGroups().byIndex(Resources.BY_PROJECT, ctx.projectId()).size() >= limit) {
            throw ApiException.forbidden("Quota exceeded, too many server groups.");
        }
        var group = new ServerGroup(Ids.newId(), name, ctx.projectId(), ctx.userId(), p.get(0).asText(), List.of(), res.clock().now());
        res.awaitRevision(groups.create(group));
        return Reply.ok(Map.of("server_group", view(group)));
    }

    private Reply list(ApiRequest r) {
        AuthContext ctx = r.auth();
        Policy.requireReader(ctx, "os_compute_api:os-server-groups:index");
        res.sync();
        boolean all = ctx.isAdmin() && "true".equalsIgnoreCase(r.query("all_projects"));
        var out = new ArrayList<Map<String, Object>>();
        res.serverGroups().list().stream().map(Versioned::value).filter(g -> all || g.projectId().equals(ctx.projectId()))
                .sorted(Comparator.comparing(ServerGroup::createdAt)).forEach(g -> out.add(view(g)));
        return Reply.ok(Map.of("server_groups", out));
    }

    private Reply delete(ApiRequest r) {
        Policy.requireMember(r.auth(), "os_compute_api:os-server-groups:delete");
        var v = visible(r.auth(), r.param("id"));
        res.awaitRevision(groups.delete(v.value().id(), v.revision()));
        return Reply.empty(204);
    }

    /** Nova's view; members are the servers of the group that still exist. */
    Map<String, Object> view(ServerGroup g) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", g.id());
        m.put("name", g.name());
        m.put("policies", List.of(g.policy()));
        m.put("members", g.members().stream().filter(id -> res.servers().get(id).map(s -> !s.value().spec().deleted()).orElse(false))
                .toList());
        m.put("metadata", Map.of());
        m.put("project_id", g.projectId());
        m.put("user_id", g.userId());
        return m;
    }
}
