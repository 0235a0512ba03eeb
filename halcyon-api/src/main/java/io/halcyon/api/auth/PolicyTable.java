package io.halcyon.api.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.halcyon.api.http.ApiException;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * One service's policy: every action (OpenStack's policy names, "os_compute_api:servers:index",
 * "get_network", "identity:list_users"...) and its {@link Rule}, read from
 * {@code policy/<service>.yaml}, which mirrors that service's default policy file. Every route
 * names its action, and the HTTP layer enforces the rule before the endpoint runs; an action a
 * route names that the table lacks fails the controller's start.
 */
public final class PolicyTable {
    /** How a service words a refusal, so its clients print what they expect. */
    public enum Style { NOVA, KEYSTONE, GLANCE, NEUTRON, HALCYON }

    private final String service;
    private final Style style;
    private final Map<String, Rule> rules;

    public PolicyTable(String service, Style style, Map<String, Rule> rules) {
        this.service = requireNonNull(service, "service is null");
        this.style = requireNonNull(style, "style is null");
        this.rules = Collections.unmodifiableMap(new LinkedHashMap<>(rules));
    }

    /** The table shipped for {@code service} (identity, compute, image, volume, network, halcyon). */
    public static PolicyTable load(String service, Style style) {
        String path = "/io/halcyon/api/policy/" + service + ".yaml";
        try (InputStream in = PolicyTable.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("no policy file " + path);
            }
            Map<?, ?> raw = new ObjectMapper(new YAMLFactory()).readValue(in, Map.class);
            var rules = new LinkedHashMap<String, Rule>();
            for (var e : raw.entrySet()) {
                rules.put(String.valueOf(e.getKey()), Rule.fromWire(String.valueOf(e.getValue())));
            }
            return new PolicyTable(service, style, rules);
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalStateException("policy file " + path + " is unreadable: " + e.getMessage(), e);
        }
    }

    public String service() {
        return service;
    }

    public Map<String, Rule> rules() {
        return rules;
    }

    public boolean has(String action) {
        return rules.containsKey(action);
    }

    public Rule rule(String action) {
        Rule r = rules.get(action);
        if (r == null) {
            throw new IllegalStateException("the " + service + " policy has no action " + action);
        }
        return r;
    }

    /** Refuses the caller unless the action's rule admits it: 401 without a needed project scope, 403 otherwise. */
    public void enforce(String action, AuthContext ctx) {
        Rule r = rule(action);
        if (r.admits(ctx)) {
            return;
        }
        if ((r == Rule.PROJECT_READER || r == Rule.PROJECT_MEMBER) && ctx != null && !ctx.scoped() && !ctx.agent()) {
            throw ApiException.unauthorized("This request needs a project-scoped token.");
        }
        throw refusal(action);
    }

    /** For {@link Rule#ADMIN_OR_SELF} and {@link Rule#SELF}: the route's user must be the caller (or, the first, an admin). */
    public void enforceSelf(String action, AuthContext ctx, String userId) {
        enforce(action, ctx);
        Rule r = rule(action);
        boolean self = ctx.userId().equals(userId);
        if ((r == Rule.ADMIN_OR_SELF && !self && !ctx.isAdmin()) || (r == Rule.SELF && !self)) {
            throw refusal(action);
        }
    }

    public ApiException refusal(String action) {
        return switch (style) {
            case NOVA -> ApiException.forbidden("Policy doesn't allow " + action + " to be performed.");
            case KEYSTONE -> ApiException.forbidden("You are not authorized to perform the requested action: " + action + ".");
            case GLANCE -> ApiException.forbidden("You are not authorized to complete " + action + " action.");
            case NEUTRON -> ApiException.forbidden("(rule:" + action + ") is disallowed by policy").withType("PolicyNotAuthorized");
            case HALCYON -> ApiException.forbidden("Policy does not allow " + action + ".");
        };
    }
}
