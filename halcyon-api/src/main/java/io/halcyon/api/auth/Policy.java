package io.halcyon.api.auth;

import io.halcyon.api.http.ApiException;

/** The default OpenStack policy, written out: admin for cloud-wide changes, member to change, reader to read. */
public final class Policy {
    private Policy() {
    }

    public static void requireAdmin(AuthContext ctx, String action) {
        if (!ctx.isAdmin()) {
            throw ApiException.forbidden("You are not authorized to perform the requested action: " + action + ".");
        }
    }

    public static void requireMember(AuthContext ctx, String action) {
        requireScoped(ctx);
        if (!ctx.isMember()) {
            throw ApiException.forbidden("Policy doesn't allow " + action + " to be performed.");
        }
    }

    public static void requireReader(AuthContext ctx, String action) {
        requireScoped(ctx);
        if (!ctx.isReader()) {
            throw ApiException.forbidden("Policy doesn't allow " + action + " to be performed.");
        }
    }

    public static void requireScoped(AuthContext ctx) {
        if (!ctx.scoped()) {
            throw ApiException.unauthorized("This request needs a project-scoped token.");
        }
    }
}
