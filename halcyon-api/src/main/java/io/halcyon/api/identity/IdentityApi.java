package io.halcyon.api.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.Catalog;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.LoginGuard;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.auth.PolicyTable;
import io.halcyon.api.auth.TokenService;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.Ids;
import io.halcyon.model.identity.Domain;
import io.halcyon.model.identity.Project;
import io.halcyon.model.identity.Role;
import io.halcyon.model.identity.RoleAssignment;
import io.halcyon.model.identity.User;
import io.halcyon.runtime.Resources;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToLongFunction;

import static java.util.Objects.requireNonNull;

/** Keystone v3 at {@code /identity}: version discovery, projects, users, roles, assignments; tokens are {@link TokenApi}. */
public final class IdentityApi {
    private static final int NAME_MAX = 64;

    private final IdentityService identity;
    private final TokenService tokens;
    private final Catalog catalog;
    private final Resources res;
    private final ToLongFunction<String> serversInProject;
    private final LoginGuard guard;

    public IdentityApi(IdentityService identity, TokenService tokens, Catalog catalog, Resources res,
                       ToLongFunction<String> serversInProject, LoginGuard guard) {
        this.guard = requireNonNull(guard, "guard is null");
        this.identity = requireNonNull(identity, "identity is null");
        this.tokens = requireNonNull(tokens, "tokens is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
        this.res = requireNonNull(res, "res is null");
        this.serversInProject = requireNonNull(serversInProject, "serversInProject is null");
    }

    public void register(Router router) {
        var g = router.group("/identity", FaultStyle.KEYSTONE, PolicyTable.load("identity", PolicyTable.Style.KEYSTONE));
        g.open("GET", "", r -> Reply.json(300, Map.of("versions", Map.of("values", List.of(IdentityViews.version(r.baseUrl()))))));
        g.open("GET", "/v3", r -> Reply.ok(Map.of("version", IdentityViews.version(r.baseUrl()))));
        new TokenApi(identity, tokens, catalog, guard).register(g);
        g.get("/v3/auth/projects", "identity:get_auth_projects", r -> projectsOfUser(r, r.auth().userId(), "/identity/v3/auth/projects"));
        g.get("/v3/auth/domains", "identity:get_auth_domains", r -> Reply.ok(Map.of("domains", List.of(IdentityViews.domain(r.baseUrl())),
                "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/auth/domains"))));

        g.get("/v3/domains", "identity:list_domains", this::listDomains);
        g.get("/v3/domains/{id}", "identity:get_domain", r -> {
            if (!Domain.DEFAULT_ID.equals(r.param("id"))) {
                throw ApiException.notFound("Could not find domain: " + r.param("id") + ".");
            }
            return Reply.ok(Map.of("domain", IdentityViews.domain(r.baseUrl())));
        });

        g.get("/v3/projects", "identity:list_projects", this::listProjects);
        g.post("/v3/projects", "identity:create_project", this::createProject);
        g.get("/v3/projects/{id}", "identity:get_project", this::showProject);
        g.patch("/v3/projects/{id}", "identity:update_project", this::updateProject);
        g.delete("/v3/projects/{id}", "identity:delete_project", this::deleteProject);

        g.get("/v3/users", "identity:list_users", this::listUsers);
        g.post("/v3/users", "identity:create_user", this::createUser);
        g.self("GET", "/v3/users/{id}", "identity:get_user", "id", this::showUser);
        g.patch("/v3/users/{id}", "identity:update_user", this::updateUser);
        g.delete("/v3/users/{id}", "identity:delete_user", this::deleteUser);
        g.self("GET", "/v3/users/{id}/projects", "identity:list_user_projects", "id", r -> {
            identity.user(r.param("id")).orElseThrow(() -> IdentityService.notFound("user", r.param("id")));
            return projectsOfUser(r, r.param("id"), "/identity/v3/users/" + r.param("id") + "/projects");
        });
        g.self("GET", "/v3/users/{id}/groups", "identity:list_groups_for_user", "id", r -> {
            identity.user(r.param("id")).orElseThrow(() -> IdentityService.notFound("user", r.param("id")));
            return Reply.ok(Map.of("groups", List.of(), "links", IdentityViews.listLinks(r.baseUrl() + r.path())));
        });
        g.self("POST", "/v3/users/{id}/password", "identity:change_password", "id", this::changePassword);

        g.get("/v3/roles", "identity:list_roles", this::listRoles);
        g.post("/v3/roles", "identity:create_role", this::createRole);
        g.get("/v3/roles/{id}", "identity:get_role", r -> {
            Role role = identity.role(r.param("id")).orElseThrow(() -> IdentityService.notFound("role", r.param("id")));
            return Reply.ok(Map.of("role", IdentityViews.role(r.baseUrl(), role)));
        });
        g.delete("/v3/roles/{id}", "identity:delete_role", r -> {
            identity.deleteRole(r.param("id"));
            return Reply.empty(204);
        });

        g.self("GET", "/v3/projects/{p}/users/{u}/roles", "identity:list_grants", "u", this::listGrants);
        g.put("/v3/projects/{p}/users/{u}/roles/{r}", "identity:create_grant", r -> {
            identity.grant(r.param("p"), r.param("u"), r.param("r"));
            return Reply.empty(204);
        });
        g.get("/v3/projects/{p}/users/{u}/roles/{r}", "identity:check_grant", this::checkGrant);
        g.delete("/v3/projects/{p}/users/{u}/roles/{r}", "identity:revoke_grant", r -> {
            identity.revoke(r.param("p"), r.param("u"), r.param("r"));
            return Reply.empty(204);
        });
        g.get("/v3/role_assignments", "identity:list_role_assignments", this::listAssignments);

        g.get("/v3/regions", "identity:list_regions", r -> Reply.ok(Map.of("regions", List.of(Map.of("id", catalog.region(), "description", "",
                "parent_region_id", "", "links", IdentityViews.links(r.baseUrl() + "/identity/v3/regions/" + catalog.region()))),
                "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/regions"))));
        g.get("/v3/services", "identity:list_services", this::listServices);
        g.get("/v3/endpoints", "identity:list_endpoints", this::listEndpoints);
    }

    // ---- domains, projects ----

    private Reply listDomains(ApiRequest r) {
        String name = r.query("name");
        var list = name == null || Domain.DEFAULT_NAME.equals(name) ? List.of(IdentityViews.domain(r.baseUrl())) : List.of();
        return Reply.ok(Map.of("domains", list, "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/domains")));
    }

    private Reply listProjects(ApiRequest r) {
        res.sync();
        String name = r.query("name");
        String enabled = r.query("enabled");
        String domain = r.query("domain_id");
        var out = new ArrayList<Map<String, Object>>();
        for (Project p : identity.projects()) {
            if (name != null && !name.equals(p.name())) {
                continue;
            }
            if (enabled != null && p.enabled() != parseBool(enabled)) {
                continue;
            }
            if (domain != null && !domain.equals(p.domainId())) {
                continue;
            }
            out.add(IdentityViews.project(r.baseUrl(), p));
        }
        return Reply.ok(Map.of("projects", out, "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/projects")));
    }

    private Reply projectsOfUser(ApiRequest r, String userId, String path) {
        res.sync();
        var ids = new LinkedHashSet<String>();
        for (RoleAssignment a : identity.assignmentsOfUser(userId)) {
            ids.add(a.projectId());
        }
        var out = new ArrayList<Map<String, Object>>();
        for (String id : ids) {
            identity.project(id).ifPresent(p -> out.add(IdentityViews.project(r.baseUrl(), p)));
        }
        return Reply.ok(Map.of("projects", out, "links", IdentityViews.listLinks(r.baseUrl() + path)));
    }

    private static boolean parseBool(String s) {
        return s.equalsIgnoreCase("true") || s.equals("1");
    }

    private Reply createProject(ApiRequest r) {
        JsonNode p = Body.object(r.json(), "project");
        String name = Body.string(p, "name", 1, NAME_MAX);
        String domain = Body.optionalString(p, "domain_id", 1, 64);
        if (domain != null && !Domain.DEFAULT_ID.equals(domain)) {
            throw ApiException.badRequest("Domain " + domain + " does not exist; Halcyon has only the default domain.");
        }
        if (Body.optionalBool(p, "is_domain") == Boolean.TRUE) {
            throw ApiException.badRequest("Halcyon has only the default domain; projects cannot act as domains.");
        }
        String parent = Body.optionalString(p, "parent_id", 1, 64);
        if (parent != null && !Domain.DEFAULT_ID.equals(parent)) {
            throw ApiException.badRequest("Nested projects are not supported; parent_id must be the domain.");
        }
        String description = Body.optionalString(p, "description", 0, 65535);
        Boolean enabled = Body.optionalBool(p, "enabled");
        Project created = identity.createProject(name, description, enabled == null || enabled, tags(p));
        return Reply.json(201, Map.of("project", IdentityViews.project(r.baseUrl(), created)));
    }

    private static List<String> tags(JsonNode node) {
        JsonNode t = node.get("tags");
        if (t == null || t.isNull()) {
            return null;
        }
        if (!t.isArray()) {
            throw ApiException.badRequest("Invalid input for field 'tags': expected a list of strings.");
        }
        var out = new ArrayList<String>();
        for (JsonNode e : t) {
            if (!e.isTextual() || e.asText().isEmpty() || e.asText().length() > 255 || e.asText().contains("/")
                    || e.asText().contains(",")) {
                throw ApiException.badRequest("Invalid project tag: " + e);
            }
            out.add(e.asText());
        }
        return out;
    }

    private Project visibleProject(ApiRequest r, String id) {
        AuthContext ctx = r.auth();
        Optional<Project> p = identity.project(id);
        if (p.isEmpty() || (!ctx.isAdmin() && !id.equals(ctx.projectId()))) {
            if (!ctx.isAdmin()) {
                Policy.requireAdmin(ctx, "identity:get_project");
            }
            throw IdentityService.notFound("project", id);
        }
        return p.get();
    }

    private Reply showProject(ApiRequest r) {
        res.sync();
        return Reply.ok(Map.of("project", IdentityViews.project(r.baseUrl(), visibleProject(r, r.param("id")))));
    }

    private Reply updateProject(ApiRequest r) {
        JsonNode p = Body.object(r.json(), "project");
        String name = Body.optionalString(p, "name", 1, NAME_MAX);
        String description = Body.optionalString(p, "description", 0, 65535);
        Boolean enabled = Body.optionalBool(p, "enabled");
        Project updated = identity.updateProject(r.param("id"), name, description, enabled, tags(p));
        return Reply.ok(Map.of("project", IdentityViews.project(r.baseUrl(), updated)));
    }

    private Reply deleteProject(ApiRequest r) {
        res.sync();
        identity.deleteProject(r.param("id"), serversInProject.applyAsLong(r.param("id")));
        return Reply.empty(204);
    }

    // ---- users ----

    private Reply listUsers(ApiRequest r) {
        res.sync();
        String name = r.query("name");
        String enabled = r.query("enabled");
        var out = new ArrayList<Map<String, Object>>();
        for (User u : identity.users()) {
            if (name != null && !name.equals(u.name())) {
                continue;
            }
            if (enabled != null && u.enabled() != parseBool(enabled)) {
                continue;
            }
            out.add(IdentityViews.user(r.baseUrl(), u));
        }
        return Reply.ok(Map.of("users", out, "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/users")));
    }

    private Reply createUser(ApiRequest r) {
        JsonNode u = Body.object(r.json(), "user");
        String name = Body.string(u, "name", 1, 255);
        String domain = Body.optionalString(u, "domain_id", 1, 64);
        if (domain != null && !Domain.DEFAULT_ID.equals(domain)) {
            throw ApiException.badRequest("Domain " + domain + " does not exist; Halcyon has only the default domain.");
        }
        String password = Body.optionalString(u, "password", 0, 4096);
        String defaultProject = Body.optionalString(u, "default_project_id", 1, 64);
        Boolean enabled = Body.optionalBool(u, "enabled");
        String email = Body.optionalString(u, "email", 0, 255);
        String description = Body.optionalString(u, "description", 0, 65535);
        User created = identity.createUser(name, password, defaultProject, enabled == null || enabled, email, description);
        return Reply.json(201, Map.of("user", IdentityViews.user(r.baseUrl(), created)));
    }

    private Reply showUser(ApiRequest r) {
        res.sync();
        String id = r.param("id");
        User u = identity.user(id).orElseThrow(() -> IdentityService.notFound("user", id));
        return Reply.ok(Map.of("user", IdentityViews.user(r.baseUrl(), u)));
    }

    private Reply updateUser(ApiRequest r) {
        JsonNode u = Body.object(r.json(), "user");
        String name = Body.optionalString(u, "name", 1, 255);
        String password = Body.optionalString(u, "password", 0, 4096);
        Optional<String> defaultProject = null;
        if (u.has("default_project_id")) {
            defaultProject = Optional.ofNullable(Body.optionalString(u, "default_project_id", 1, 64));
        }
        Boolean enabled = Body.optionalBool(u, "enabled");
        String email = Body.optionalString(u, "email", 0, 255);
        String description = Body.optionalString(u, "description", 0, 65535);
        User updated = identity.updateUser(r.param("id"), name, password, defaultProject, enabled, email, description);
        return Reply.ok(Map.of("user", IdentityViews.user(r.baseUrl(), updated)));
    }

    private Reply deleteUser(ApiRequest r) {
        identity.deleteUser(r.param("id"));
        return Reply.empty(204);
    }

    private Reply changePassword(ApiRequest r) {
        String id = r.param("id");
        JsonNode u = Body.object(r.json(), "user");
        String original = Body.string(u, "original_password", 0, 4096);
        String password = Body.string(u, "password", 1, 4096);
        User user = identity.user(id).orElseThrow(() -> IdentityService.notFound("user", id));
        if (!identity.hasher().verify(original, user.passwordHash())) {
            throw TokenApi.unauthorized();
        }
        identity.updateUser(id, null, password, null, null, null, null);
        return Reply.empty(204);
    }

    // ---- roles and grants ----

    private Reply listRoles(ApiRequest r) {
        res.sync();
        String name = r.query("name");
        var out = new ArrayList<Map<String, Object>>();
        for (Role role : identity.roles()) {
            if (name == null || name.equalsIgnoreCase(role.name())) {
                out.add(IdentityViews.role(r.baseUrl(), role));
            }
        }
        return Reply.ok(Map.of("roles", out, "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/roles")));
    }

    private Reply createRole(ApiRequest r) {
        JsonNode role = Body.object(r.json(), "role");
        String name = Body.string(role, "name", 1, 255);
        if (Body.has(role, "domain_id")) {
            throw ApiException.badRequest("Domain-specific roles are not supported.");
        }
        Role created = identity.createRole(name, Body.optionalString(role, "description", 0, 255));
        return Reply.json(201, Map.of("role", IdentityViews.role(r.baseUrl(), created)));
    }

    private Reply listGrants(ApiRequest r) {
        String p = r.param("p");
        String u = r.param("u");
        res.sync();
        identity.project(p).orElseThrow(() -> IdentityService.notFound("project", p));
        identity.user(u).orElseThrow(() -> IdentityService.notFound("user", u));
        var out = new ArrayList<Map<String, Object>>();
        for (RoleAssignment a : identity.assignmentsOfUser(u)) {
            if (a.projectId().equals(p)) {
                identity.role(a.roleId()).ifPresent(role -> out.add(IdentityViews.role(r.baseUrl(), role)));
            }
        }
        return Reply.ok(Map.of("roles", out, "links", IdentityViews.listLinks(r.baseUrl() + r.path())));
    }

    private Reply checkGrant(ApiRequest r) {
        res.sync();
        if (!identity.hasAssignment(r.param("p"), r.param("u"), r.param("r"))) {
            throw ApiException.notFound("Could not find role assignment with role: " + r.param("r") + ", user or group: "
                    + r.param("u") + ", project, domain, or system: " + r.param("p") + ".");
        }
        return Reply.empty(204);
    }

    private Reply listAssignments(ApiRequest r) {
        String userFilter = r.query("user.id");
        String projectFilter = r.query("scope.project.id");
        String roleFilter = r.query("role.id");
        boolean names = r.query("include_names") != null && !"false".equalsIgnoreCase(r.query("include_names"))
                && !"0".equals(r.query("include_names"));
        if (!r.auth().isAdmin() && !r.auth().userId().equals(userFilter)) {
            Policy.requireAdmin(r.auth(), "identity:list_role_assignments");
        }
        res.sync();
        var out = new ArrayList<Map<String, Object>>();
        for (RoleAssignment a : identity.allAssignments()) {
            if ((userFilter != null && !userFilter.equals(a.userId())) || (projectFilter != null && !projectFilter.equals(a.projectId()))
                    || (roleFilter != null && !roleFilter.equals(a.roleId()))) {
                continue;
            }
            var role = new LinkedHashMap<String, Object>();
            role.put("id", a.roleId());
            var user = new LinkedHashMap<String, Object>();
            user.put("id", a.userId());
            var project = new LinkedHashMap<String, Object>();
            project.put("id", a.projectId());
            if (names) {
                identity.role(a.roleId()).ifPresent(x -> role.put("name", x.name()));
                identity.user(a.userId()).ifPresent(x -> {
                    user.put("name", x.name());
                    user.put("domain", IdentityViews.domainRef());
                });
                identity.project(a.projectId()).ifPresent(x -> {
                    project.put("name", x.name());
                    project.put("domain", IdentityViews.domainRef());
                });
            }
            out.add(Map.of("role", role, "user", user, "scope", Map.of("project", project),
                    "links", Map.of("assignment", r.baseUrl() + "/identity/v3/projects/" + a.projectId() + "/users/"
                            + a.userId() + "/roles/" + a.roleId())));
        }
        return Reply.ok(Map.of("role_assignments", out, "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/role_assignments")));
    }

    private Reply listServices(ApiRequest r) {
        var out = new ArrayList<Map<String, Object>>();
        for (var svc : catalog.render(r.baseUrl(), r.auth().projectId())) {
            out.add(Map.of("id", svc.get("id"), "type", svc.get("type"), "name", svc.get("name"), "enabled", true,
                    "description", "", "links", IdentityViews.links(r.baseUrl() + "/identity/v3/services/" + svc.get("id"))));
        }
        return Reply.ok(Map.of("services", out, "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/services")));
    }

    @SuppressWarnings("unchecked")
    private Reply listEndpoints(ApiRequest r) {
        var out = new ArrayList<Map<String, Object>>();
        for (var svc : catalog.render(r.baseUrl(), r.auth().projectId())) {
            for (var e : (List<Map<String, Object>>) svc.get("endpoints")) {
                var m = new LinkedHashMap<String, Object>(e);
                m.put("service_id", svc.get("id"));
                m.put("enabled", true);
                m.put("links", IdentityViews.links(r.baseUrl() + "/identity/v3/endpoints/" + e.get("id")));
                out.add(m);
            }
        }
        return Reply.ok(Map.of("endpoints", out, "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/endpoints")));
    }
}
