package io.halcyon.api.auth;

/**
 * The check strings of OpenStack's default policies, as Halcyon has them: each route's rule is one
 * of these. "Project" rules need a project-scoped token; whether the resource belongs to that
 * project is the service's check (another project's resource is not found, never forbidden).
 */
public enum Rule {
    /** No token: version documents, token issue, health. */
    PUBLIC,
    /** Any valid token, scoped or not ("@" in oslo.policy). */
    AUTHENTICATED,
    /** "role:reader and project_id:%(project_id)s or role:admin". */
    PROJECT_READER,
    /** "role:member and project_id:%(project_id)s or role:admin". */
    PROJECT_MEMBER,
    /** "role:admin". */
    ADMIN,
    /** "role:admin or user_id:%(user_id)s": the route names a user, and only that user or an admin passes. */
    ADMIN_OR_SELF,
    /** "user_id:%(user_id)s": only the user the route names, admins included (a password change). */
    SELF,
    /**
     * "role:admin or (the target's owner)": any token passes here, and the service lets a non-admin
     * act only on its own target (Keystone's own project, its own tokens, its own role assignments).
     */
    ADMIN_OR_OWNER,
    /** The agent API: the cluster's agent token, never a user's. */
    AGENT;

    /** Whether a caller with these rights passes, before any target is looked at ({@link #ADMIN_OR_SELF} also needs the user). */
    public boolean admits(AuthContext ctx) {
        return switch (this) {
            case PUBLIC -> true;
            case AUTHENTICATED -> ctx != null;
            case PROJECT_READER -> ctx != null && ctx.scoped() && ctx.isReader();
            case PROJECT_MEMBER -> ctx != null && ctx.scoped() && ctx.isMember();
            case ADMIN -> ctx != null && ctx.isAdmin();
            case ADMIN_OR_SELF, SELF, ADMIN_OR_OWNER -> ctx != null;
            case AGENT -> ctx != null && ctx.agent();
        };
    }

    /** The name in the policy files. */
    public String wire() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Rule fromWire(String s) {
        for (Rule r : values()) {
            if (r.wire().equals(s)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown rule " + s);
    }
}
