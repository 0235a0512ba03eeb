package io.halcyon.api.identity;

import io.halcyon.api.auth.PasswordHasher;
import io.halcyon.api.http.ApiException;
import io.halcyon.model.Ids;
import io.halcyon.model.identity.Domain;
import io.halcyon.model.identity.NameClaim;
import io.halcyon.model.identity.Project;
import io.halcyon.model.identity.Revocation;
import io.halcyon.model.identity.Role;
import io.halcyon.model.identity.RoleAssignment;
import io.halcyon.model.identity.User;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Compare;
import io.halcyon.store.Op;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Keystone's model: projects, users, roles and role assignments in the default domain. Names are
 * unique through {@link NameClaim}s written in the same transaction as their owner. Every change
 * that takes rights away (disable, delete, password change, role removal) writes a revocation
 * event, which every controller's token validation follows.
 */
public final class IdentityService {
    private static final Logger log = LoggerFactory.getLogger(IdentityService.class);

    private final Resources res;
    private final PasswordHasher hasher;
    private final Duration maxTokenLifetime;
    private final Repository<Project> projects;
    private final Repository<User> users;
    private final Repository<Role> roles;
    private final Repository<RoleAssignment> assignments;
    private final Repository<NameClaim> names;
    private final Repository<Revocation> revocations;

    public IdentityService(Resources res, PasswordHasher hasher, Duration maxTokenLifetime) {
        this.res = requireNonNull(res, "res is null");
        this.hasher = requireNonNull(hasher, "hasher is null");
        this.maxTokenLifetime = requireNonNull(maxTokenLifetime, "maxTokenLifetime is null");
        this.projects = res.repo(Kinds.PROJECTS);
        this.users = res.repo(Kinds.USERS);
        this.roles = res.repo(Kinds.ROLES);
        this.assignments = res.repo(Kinds.ROLE_ASSIGNMENTS);
        this.names = res.repo(Kinds.NAMES);
        this.revocations = res.repo(Kinds.REVOCATIONS);
    }

    public PasswordHasher hasher() {
        return hasher;
    }

    // ---- lookups (from the cache) ----

    public Optional<Project> project(String id) {
        return res.projects().get(id).map(Versioned::value);
    }

    public Optional<Project> projectByName(String name) {
        return res.names().get(NameClaim.id("projects", name)).flatMap(c -> project(c.value().ownerId()));
    }

    public Optional<User> user(String id) {
        return res.users().get(id).map(Versioned::value);
    }

    public Optional<User> userByName(String name) {
        return res.names().get(NameClaim.id("users", name)).flatMap(c -> user(c.value().ownerId()));
    }

    public Optional<Role> role(String id) {
        return res.roles().get(id).map(Versioned::value);
    }

    public Optional<Role> roleByName(String name) {
        return res.names().get(NameClaim.id("roles", name)).flatMap(c -> role(c.value().ownerId()));
    }

    public List<Project> projects() {
        return res.projects().list().stream().map(Versioned::value).sorted(Comparator.comparing(Project::name)).toList();
    }

    public List<User> users() {
        return res.users().list().stream().map(Versioned::value).sorted(Comparator.comparing(User::name)).toList();
    }

    public List<Role> roles() {
        return res.roles().list().stream().map(Versioned::value).sorted(Comparator.comparing(Role::name)).toList();
    }

    public List<RoleAssignment> assignmentsOfUser(String userId) {
        return res.roleAssignments().byIndex(Resources.BY_USER, userId).stream().map(Versioned::value).toList();
    }

    public List<RoleAssignment> assignmentsOnProject(String projectId) {
        return res.roleAssignments().byIndex(Resources.BY_PROJECT, projectId).stream().map(Versioned::value).toList();
    }

    public List<RoleAssignment> allAssignments() {
        return res.roleAssignments().list().stream().map(Versioned::value).toList();
    }

    /** The role names a user holds on a project, with implied roles (admin ⊃ member ⊃ reader). */
    public Set<String> effectiveRoles(String userId, String projectId) {
        var out = new LinkedHashSet<String>();
        for (RoleAssignment a : assignmentsOfUser(userId)) {
            if (a.projectId().equals(projectId)) {
                role(a.roleId()).ifPresent(r -> out.add(r.name()));
            }
        }
        if (out.contains(Role.ADMIN)) {
            out.add(Role.MEMBER);
        }
        if (out.contains(Role.MEMBER)) {
            out.add(Role.READER);
        }
        return out;
    }

    // ---- writes ----

    private TxnResult commit(Txn txn, String conflictMessage) {
        TxnResult r = res.store().txn(txn);
        if (!r.succeeded()) {
            throw ApiException.conflict(conflictMessage);
        }
        res.awaitRevision(r.revision());
        return r;
    }

    private Op claim(String kind, String name, String owner) {
        return names.put(new NameClaim(kind, name, owner));
    }

    private Compare unclaimed(String kind, String name) {
        return names.absent(NameClaim.id(kind, name));
    }

    public Project createProject(String name, String description, boolean enabled, List<String> tags) {
        var p = new Project(Ids.newHexId(), name, Domain.DEFAULT_ID, description, enabled, tags, res.clock().now());
        commit(Txn.builder().when(unclaimed("projects", name), projects.absent(p.id()))
                        .onSuccess(projects.put(p), claim("projects", name, p.id())).build(),
                "Conflict occurred attempting to store project - Duplicate entry found with name " + name
                        + " at domain ID " + Domain.DEFAULT_ID + ".");
        log.info("event=project_created project_id={} name={}", p.id(), name);
        return p;
    }

    public Project updateProject(String id, String name, String description, Boolean enabled, List<String> tags) {
        for (int attempt = 0; attempt < 10; attempt++) {
            Versioned<Project> cur = projects.get(id).orElseThrow(() -> notFound("project", id));
            Project p = cur.value();
            Project next = p;
            if (name != null) {
                next = next.withName(name);
            }
            if (description != null) {
                next = next.withDescription(description);
            }
            if (enabled != null) {
                next = next.withEnabled(enabled);
            }
            if (tags != null) {
                next = next.withTags(tags);
            }
            var txn = Txn.builder().when(projects.unchanged(id, cur.revision())).onSuccess(projects.put(next));
            boolean renamed = !next.name().equals(p.name());
            if (renamed) {
                txn.when(unclaimed("projects", next.name())).onSuccess(claim("projects", next.name(), id),
                        names.deleteOp(NameClaim.id("projects", p.name())));
            }
            boolean disabled = p.enabled() && !next.enabled();
            if (disabled) {
                txn.onSuccess(revocationOp(null, id));
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return next;
            }
            if (renamed && projectByNameFromStore(next.name()).isPresent()) {
                throw ApiException.conflict("Conflict occurred attempting to store project - Duplicate entry found with name "
                        + next.name() + " at domain ID " + Domain.DEFAULT_ID + ".");
            }
        }
        throw ApiException.conflict("Project " + id + " is being changed concurrently; retry.");
    }

    private Optional<NameClaim> projectByNameFromStore(String name) {
        return names.get(NameClaim.id("projects", name)).map(Versioned::value);
    }

    public void deleteProject(String id, long serverCount) {
        Versioned<Project> cur = projects.get(id).orElseThrow(() -> notFound("project", id));
        if (serverCount > 0) {
            throw ApiException.conflict("Project " + id + " still owns " + serverCount
                    + " server(s); delete them before deleting the project.");
        }
        var txn = Txn.builder().when(projects.unchanged(id, cur.revision()))
                .onSuccess(projects.deleteOp(id), names.deleteOp(NameClaim.id("projects", cur.value().name())), revocationOp(null, id));
        for (RoleAssignment a : assignmentsOnProject(id)) {
            txn.onSuccess(assignments.deleteOp(a.id()));
        }
        commit(txn.build(), "Project " + id + " changed concurrently; retry.");
        log.info("event=project_deleted project_id={}", id);
    }

    public User createUser(String name, String password, String defaultProjectId, boolean enabled, String email, String description) {
        if (defaultProjectId != null && project(defaultProjectId).isEmpty()) {
            throw ApiException.badRequest("Could not find project: " + defaultProjectId + ".");
        }
        String hash = password == null ? null : hasher.hash(password);
        var u = new User(Ids.newHexId(), name, Domain.DEFAULT_ID, defaultProjectId, description, email, enabled, hash, res.clock().now());
        commit(Txn.builder().when(unclaimed("users", name), users.absent(u.id()))
                        .onSuccess(users.put(u), claim("users", name, u.id())).build(),
                "Conflict occurred attempting to store user - Duplicate entry found with name " + name + " at domain ID "
                        + Domain.DEFAULT_ID + ".");
        log.info("event=user_created user_id={} name={}", u.id(), name);
        return u;
    }

    public User updateUser(String id, String name, String password, Optional<String> defaultProjectId, Boolean enabled,
                           String email, String description) {
        if (defaultProjectId != null && defaultProjectId.isPresent() && project(defaultProjectId.get()).isEmpty()) {
            throw ApiException.badRequest("Could not find project: " + defaultProjectId.get() + ".");
        }
        String hash = password == null ? null : hasher.hash(password);
        for (int attempt = 0; attempt < 10; attempt++) {
            Versioned<User> cur = users.get(id).orElseThrow(() -> notFound("user", id));
            User u = cur.value();
            User next = u;
            if (name != null) {
                next = next.withName(name);
            }
            if (hash != null) {
                next = next.withPasswordHash(hash);
            }
            if (defaultProjectId != null) {
                next = next.withDefaultProjectId(defaultProjectId.orElse(null));
            }
            if (enabled != null) {
                next = next.withEnabled(enabled);
            }
            if (email != null) {
                next = next.withEmail(email);
            }
            if (description != null) {
                next = next.withDescription(description);
            }
            var txn = Txn.builder().when(users.unchanged(id, cur.revision())).onSuccess(users.put(next));
            boolean renamed = !next.name().equals(u.name());
            if (renamed) {
                txn.when(unclaimed("users", next.name())).onSuccess(claim("users", next.name(), id),
                        names.deleteOp(NameClaim.id("users", u.name())));
            }
            if ((u.enabled() && !next.enabled()) || hash != null) {
                txn.onSuccess(revocationOp(id, null));
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return next;
            }
            if (renamed && names.get(NameClaim.id("users", next.name())).isPresent()) {
                throw ApiException.conflict("Conflict occurred attempting to store user - Duplicate entry found with name "
                        + next.name() + " at domain ID " + Domain.DEFAULT_ID + ".");
            }
        }
        throw ApiException.conflict("User " + id + " is being changed concurrently; retry.");
    }

    public void deleteUser(String id) {
        Versioned<User> cur = users.get(id).orElseThrow(() -> notFound("user", id));
        var txn = Txn.builder().when(users.unchanged(id, cur.revision()))
                .onSuccess(users.deleteOp(id), names.deleteOp(NameClaim.id("users", cur.value().name())), revocationOp(id, null));
        for (RoleAssignment a : assignmentsOfUser(id)) {
            txn.onSuccess(assignments.deleteOp(a.id()));
        }
        commit(txn.build(), "User " + id + " changed concurrently; retry.");
        log.info("event=user_deleted user_id={}", id);
    }

    public Role createRole(String name, String description) {
        var r = new Role(Ids.newHexId(), name, description);
        commit(Txn.builder().when(unclaimed("roles", name.toLowerCase()), roles.absent(r.id()))
                        .onSuccess(roles.put(r), claim("roles", name.toLowerCase(), r.id())).build(),
                "Conflict occurred attempting to store role - Duplicate entry found with name " + name + ".");
        return r;
    }

    public void deleteRole(String id) {
        Versioned<Role> cur = roles.get(id).orElseThrow(() -> notFound("role", id));
        String name = cur.value().name();
        if (Set.of(Role.ADMIN, Role.MEMBER, Role.READER).contains(name)) {
            throw ApiException.forbidden("The built-in role " + name + " cannot be deleted.");
        }
        var txn = Txn.builder().when(roles.unchanged(id, cur.revision()))
                .onSuccess(roles.deleteOp(id), names.deleteOp(NameClaim.id("roles", name.toLowerCase())));
        for (RoleAssignment a : allAssignments()) {
            if (a.roleId().equals(id)) {
                txn.onSuccess(assignments.deleteOp(a.id()), revocationOp(a.userId(), a.projectId()));
            }
        }
        commit(txn.build(), "Role " + id + " changed concurrently; retry.");
    }

    public void grant(String projectId, String userId, String roleId) {
        project(projectId).orElseThrow(() -> notFound("project", projectId));
        user(userId).orElseThrow(() -> notFound("user", userId));
        role(roleId).orElseThrow(() -> notFound("role", roleId));
        var a = new RoleAssignment(projectId, userId, roleId);
        TxnResult r = res.store().txn(Txn.builder().when(assignments.absent(a.id())).onSuccess(assignments.put(a)).build());
        res.awaitRevision(r.revision());
    }

    public void revoke(String projectId, String userId, String roleId) {
        var a = new RoleAssignment(projectId, userId, roleId);
        if (res.roleAssignments().get(a.id()).isEmpty()) {
            throw ApiException.notFound("Could not find role assignment with role: " + roleId + ", user or group: " + userId
                    + ", project, domain, or system: " + projectId + ".");
        }
        TxnResult r = res.store().txn(Txn.builder().when(assignments.unchanged(a.id(), res.roleAssignments().get(a.id()).get().revision()))
                .onSuccess(assignments.deleteOp(a.id()), revocationOp(userId, projectId)).build());
        res.awaitRevision(r.revision());
    }

    public boolean hasAssignment(String projectId, String userId, String roleId) {
        return res.roleAssignments().get(new RoleAssignment(projectId, userId, roleId).id()).isPresent();
    }

    /** Revokes every token with this audit id (a token revoked by DELETE /auth/tokens). */
    public void revokeToken(String userId, String auditId) {
        Instant now = res.clock().now();
        var rev = new Revocation(Ids.newId(), userId, null, auditId, now, now.plus(maxTokenLifetime));
        res.awaitRevision(res.store().txn(Txn.builder().onSuccess(revocations.put(rev)).build()).revision());
    }

    private Op revocationOp(String userId, String projectId) {
        Instant now = res.clock().now();
        return revocations.put(new Revocation(Ids.newId(), userId, projectId, null, now, now.plus(maxTokenLifetime)));
    }

    static ApiException notFound(String what, String id) {
        return ApiException.notFound("Could not find " + what + ": " + id + ".");
    }

    // ---- bootstrap ----

    /**
     * Makes sure the built-in roles, the admin project and the admin user exist. Idempotent and safe to run on every controller at every start: the name
     * claims make concurrent runs converge on one set of records.
     */
    public void bootstrap(String adminPassword) {
        for (String name : List.of(Role.ADMIN, Role.MEMBER, Role.READER)) {
            if (roleByName(name).isEmpty()) {
                try {
                    createRole(name, "Built-in role " + name);
                } catch (ApiException e) {
                    if (e.status() != 409) {
                        throw e;
                    }
                }
            }
        }
        res.sync();
        Project admin = projectByName("admin").orElseGet(() -> {
            try {
                return createProject("admin", "Bootstrap project for the cloud administrator", true, List.of());
            } catch (ApiException e) {
                res.sync();
                return projectByName("admin").orElseThrow(() -> e);
            }
        });
        User adminUser = userByName("admin").orElseGet(() -> {
            try {
                return createUser("admin", adminPassword, admin.id(), true, null, "Cloud administrator");
            } catch (ApiException e) {
                res.sync();
                return userByName("admin").orElseThrow(() -> e);
            }
        });
        String adminRole = roleByName(Role.ADMIN).orElseThrow().id();
        if (!hasAssignment(admin.id(), adminUser.id(), adminRole)) {
            grant(admin.id(), adminUser.id(), adminRole);
        }
        res.sync();
        log.info("event=identity_bootstrapped admin_project={} admin_user={}", admin.id(), adminUser.id());
    }

    public List<Revocation> activeRevocations() {
        var out = new ArrayList<Revocation>();
        for (var v : res.revocations().list()) {
            out.add(v.value());
        }
        return out;
    }
}
