package io.halcyon.api.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.Catalog;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.LoginGuard;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.auth.TokenService;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.Ids;
import io.halcyon.model.identity.Domain;
import io.halcyon.model.identity.Project;
import io.halcyon.model.identity.User;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import static java.util.Objects.requireNonNull;

/** Keystone v3 tokens at {@code /identity/v3/auth/tokens}: issue (password or token), validate, revoke; and the caller's catalog. */
final class TokenApi {
    private final IdentityService identity;
    private final TokenService tokens;
    private final Catalog catalog;
    private final LoginGuard guard;

    TokenApi(IdentityService identity, TokenService tokens, Catalog catalog, LoginGuard guard) {
        this.identity = requireNonNull(identity, "identity is null");
        this.tokens = requireNonNull(tokens, "tokens is null");
        this.catalog = requireNonNull(catalog, "catalog is null");
        this.guard = requireNonNull(guard, "guard is null");
    }

    void register(Router.Group g) {
        g.openBounded("POST", "/v3/auth/tokens", this::issueToken);
        g.get("/v3/auth/tokens", "identity:validate_token", this::validateToken);
        g.delete("/v3/auth/tokens", "identity:revoke_token", this::revokeToken);
        g.get("/v3/auth/catalog", "identity:get_auth_catalog", r -> Reply.ok(Map.of("catalog", catalog.render(r.baseUrl(), r.auth().projectId()),
                "links", IdentityViews.listLinks(r.baseUrl() + "/identity/v3/auth/catalog"))));
    }

    /** Keystone's token issue: a password is checked by the {@link LoginGuard}, off the listener's threads. */
    private CompletableFuture<Reply> issueToken(ApiRequest r) {
        JsonNode root = r.json();
        JsonNode auth = Body.object(root, "auth");
        JsonNode ident = Body.object(auth, "identity");
        JsonNode methodsNode = ident.get("methods");
        if (methodsNode == null || !methodsNode.isArray() || methodsNode.isEmpty()) {
            throw ApiException.badRequest("Invalid input for field 'identity/methods': expected a non-empty list.");
        }
        var methods = new ArrayList<String>();
        methodsNode.forEach(m -> methods.add(m.asText()));
        if (methods.contains("password")) {
            JsonNode u = Body.object(Body.object(ident, "password"), "user");
            String secret = Body.string(u, "password", 0, 4096);
            Optional<User> user;
            if (Body.has(u, "id")) {
                user = identity.user(Body.string(u, "id", 1, 64));
            } else {
                String name = Body.string(u, "name", 1, 255);
                user = domainMatches(u.get("domain")) ? identity.userByName(name) : Optional.empty();
            }
            return guard.login(r.clientAddress(), user, secret).thenApply(found -> issue(r, auth, methods, found, null, null));
        } else if (methods.contains("token")) {
            JsonNode tok = Body.object(ident, "token");
            AuthContext prior = tokens.validate(Body.string(tok, "id", 1, 4096));
            User user = identity.user(prior.userId()).filter(User::enabled).orElseThrow(TokenApi::unauthorized);
            return CompletableFuture.completedFuture(issue(r, auth, methods, user, prior.expiresAt(), prior.auditId()));
        }
        throw ApiException.unauthorized("Unsupported authentication method(s): " + String.join(", ", methods) + ".");
    }

    private Reply issue(ApiRequest r, JsonNode auth, List<String> methods, User user, Instant expiresAt, String inheritedAudit) {
        Project project = null;
        JsonNode scope = auth.get("scope");
        if (scope != null && !scope.isNull() && !(scope.isTextual() && scope.asText().equals("unscoped"))) {
            if (!scope.isObject()) {
                throw ApiException.badRequest("Invalid input for field 'auth/scope'.");
            }
            if (scope.has("project")) {
                project = scopedProject(Body.object(scope, "project"));
            } else if (scope.has("system") || scope.has("domain") || scope.has("OS-TRUST:trust")) {
                throw ApiException.badRequest("Halcyon issues project-scoped and unscoped tokens only; scope to a project.");
            } else {
                throw ApiException.badRequest("Invalid input for field 'auth/scope'.");
            }
        } else if (scope == null && user.defaultProjectId() != null) {
            project = identity.project(user.defaultProjectId()).filter(Project::enabled)
                    .filter(p -> !identity.effectiveRoles(user.id(), p.id()).isEmpty()).orElse(null);
        }
        Set<String> roles = Set.of();
        if (project != null) {
            if (!project.enabled()) {
                throw unauthorized();
            }
            roles = identity.effectiveRoles(user.id(), project.id());
            if (roles.isEmpty()) {
                throw unauthorized();
            }
        }
        String auditId = Ids.newHexId().substring(0, 22);
        var issued = tokens.issue(user.id(), user.name(), project == null ? null : project.id(), project == null ? null : project.name(),
                roles, methods, expiresAt, auditId);
        var body = tokenBody(r, issued.context(), inheritedAudit);
        return Reply.json(201, Map.of("token", body)).header("X-Subject-Token", issued.token());
    }

    private Project scopedProject(JsonNode p) {
        Project project;
        if (Body.has(p, "id")) {
            project = identity.project(Body.string(p, "id", 1, 64)).orElse(null);
        } else {
            String name = Body.string(p, "name", 1, 255);
            checkDomain(p.get("domain"));
            project = identity.projectByName(name).orElse(null);
        }
        if (project == null) {
            throw unauthorized();
        }
        return project;
    }

    private static void checkDomain(JsonNode domain) {
        if (!domainMatches(domain)) {
            throw unauthorized();
        }
    }

    private static boolean domainMatches(JsonNode domain) {
        if (domain == null || domain.isNull()) {
            return true;
        }
        String d = domain.hasNonNull("id") ? domain.get("id").asText() : domain.path("name").asText(Domain.DEFAULT_NAME);
        return Domain.matches(d);
    }

    static ApiException unauthorized() {
        return ApiException.unauthorized("The request you have made requires authentication.");
    }

    private Map<String, Object> tokenBody(ApiRequest r, AuthContext ctx, String inheritedAudit) {
        var user = new LinkedHashMap<String, Object>();
        user.put("domain", IdentityViews.domainRef());
        user.put("id", ctx.userId());
        user.put("name", ctx.userName());
        user.put("password_expires_at", null);
        var t = new LinkedHashMap<String, Object>();
        t.put("methods", ctx.methods());
        t.put("user", user);
        t.put("audit_ids", inheritedAudit == null ? List.of(ctx.auditId()) : List.of(ctx.auditId(), inheritedAudit));
        t.put("expires_at", IdentityViews.time(ctx.expiresAt()));
        t.put("issued_at", IdentityViews.time(ctx.issuedAt()));
        if (ctx.scoped()) {
            var project = new LinkedHashMap<String, Object>();
            project.put("domain", IdentityViews.domainRef());
            project.put("id", ctx.projectId());
            project.put("name", ctx.projectName());
            t.put("project", project);
            t.put("is_domain", false);
            var roles = new ArrayList<Map<String, Object>>();
            for (String name : ctx.roles()) {
                identity.roleByName(name).ifPresent(role -> roles.add(Map.of("id", role.id(), "name", role.name())));
            }
            t.put("roles", roles);
            t.put("catalog", catalog.render(r.baseUrl(), ctx.projectId()));
        }
        return t;
    }

    private Reply validateToken(ApiRequest r) {
        String subject = r.header("X-Subject-Token");
        AuthContext ctx = subjectToken(r, subject, "identity:validate_token");
        return Reply.ok(Map.of("token", tokenBody(r, ctx, null))).header("X-Subject-Token", subject);
    }

    private Reply revokeToken(ApiRequest r) {
        AuthContext ctx = subjectToken(r, r.header("X-Subject-Token"), "identity:revoke_token");
        identity.revokeToken(ctx.userId(), ctx.auditId());
        return Reply.empty(204);
    }

    /** The token named by X-Subject-Token; a caller may act on its own tokens, an admin on any. */
    private AuthContext subjectToken(ApiRequest r, String subject, String action) {
        if (subject == null) {
            throw ApiException.badRequest("The X-Subject-Token header is required.");
        }
        AuthContext ctx;
        try {
            ctx = tokens.validate(subject);
        } catch (ApiException e) {
            throw ApiException.notFound("Could not find token: " + abbreviate(subject) + ".");
        }
        if (!ctx.userId().equals(r.auth().userId())) {
            Policy.requireAdmin(r.auth(), action);
        }
        return ctx;
    }

    private static String abbreviate(String token) {
        return token.length() > 12 ? token.substring(0, 12) + "..." : token;
    }
}
