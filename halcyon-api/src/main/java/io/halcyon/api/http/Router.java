package io.halcyon.api.http;

import io.halcyon.api.auth.PolicyTable;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;

import static java.util.Objects.requireNonNull;

/**
 * Explicit route table: each route is a method, a path template with {@code {param}} segments,
 * how its caller authenticates, the policy action that authorizes it, and an endpoint. Routes are
 * registered by hand in each service's API class; nothing is found by reflection. A route that
 * needs a token names an action of its group's {@link PolicyTable}, or the route is refused at
 * registration: no route goes unauthorized.
 */
public final class Router {
    public enum Auth { NONE, TOKEN, AGENT }

    @FunctionalInterface
    public interface Endpoint {
        Reply handle(ApiRequest request) throws Exception;
    }

    @FunctionalInterface
    public interface AsyncEndpoint {
        CompletionStage<Reply> handle(ApiRequest request) throws Exception;
    }

    /** Runs before every endpoint of a group (microversion checks); may throw {@link ApiException}. */
    @FunctionalInterface
    public interface Hook {
        void before(ApiRequest request, Map<String, String> responseHeaders);
    }

    /**
     * @param action      the policy action that authorizes it (null for public and agent routes)
     * @param selfParam   for {@link io.halcyon.api.auth.Rule#ADMIN_OR_SELF} actions: the path parameter naming the user
     * @param streamed    its body is read as a stream (an upload), not before the endpoint runs
     * @param selfBounded bounded by its own pool (logins), so it skips the listener's queue
     */
    public record Route(String method, String template, String[] segments, Auth auth, Group group, Endpoint endpoint,
                        AsyncEndpoint async, String action, String selfParam, boolean streamed, boolean selfBounded) {
    }

    public record Match(Route route, Map<String, String> params) {
    }

    /** Routes under one prefix that share a fault style, a policy table and hooks. */
    public final class Group {
        private final String prefix;
        private final FaultStyle style;
        private final PolicyTable policies;
        private final List<Hook> hooks = new ArrayList<>();

        Group(String prefix, FaultStyle style, PolicyTable policies) {
            this.prefix = prefix;
            this.style = style;
            this.policies = policies;
        }

        /** The policy its token routes are authorized by; null for a group of public or agent routes only. */
        public PolicyTable policies() {
            return policies;
        }

        public FaultStyle style() {
            return style;
        }

        public String prefix() {
            return prefix;
        }

        public List<Hook> hooks() {
            return hooks;
        }

        public Group hook(Hook h) {
            hooks.add(h);
            return this;
        }

        /** A route for callers with a token, authorized by {@code action} of this group's policy. */
        public Group route(String method, String path, String action, Endpoint e) {
            register(new Route(method, prefix + path, split(prefix + path), Auth.TOKEN, this, e, null, requireNonNull(action, "action is null"),
                    null, false, false));
            return this;
        }

        /** A route whose action is admin-or-self: {@code userParam} names the user it is about. */
        public Group self(String method, String path, String action, String userParam, Endpoint e) {
            register(new Route(method, prefix + path, split(prefix + path), Auth.TOKEN, this, e, null, requireNonNull(action, "action is null"),
                    requireNonNull(userParam, "userParam is null"), false, false));
            return this;
        }

        /** An agent API route: the cluster's agent token, no user. */
        public Group agent(String method, String path, Endpoint e) {
            register(new Route(method, prefix + path, split(prefix + path), Auth.AGENT, this, e, null, null, null, false, false));
            return this;
        }

        public Group agentAsync(String method, String path, AsyncEndpoint e) {
            register(new Route(method, prefix + path, split(prefix + path), Auth.AGENT, this, null, e, null, null, false, false));
            return this;
        }

        public Group get(String path, String action, Endpoint e) {
            return route("GET", path, action, e);
        }

        public Group post(String path, String action, Endpoint e) {
            return route("POST", path, action, e);
        }

        public Group put(String path, String action, Endpoint e) {
            return route("PUT", path, action, e);
        }

        public Group patch(String path, String action, Endpoint e) {
            return route("PATCH", path, action, e);
        }

        public Group delete(String path, String action, Endpoint e) {
            return route("DELETE", path, action, e);
        }

        /** A route anyone may call without a token. */
        public Group open(String method, String path, Endpoint e) {
            register(new Route(method, prefix + path, split(prefix + path), Auth.NONE, this, e, null, null, null, false, false));
            return this;
        }

        /** A route anyone may call without a token, served off the listener's threads and bounded by its own pool (logins). */
        public Group openBounded(String method, String path, AsyncEndpoint e) {
            register(new Route(method, prefix + path, split(prefix + path), Auth.NONE, this, null, e, null, null, false, true));
            return this;
        }

        /** A route whose body is a stream the endpoint reads itself (an upload), under the listener's minimum rate. */
        public Group upload(String method, String path, String action, Endpoint e) {
            register(new Route(method, prefix + path, split(prefix + path), Auth.TOKEN, this, e, null, requireNonNull(action, "action is null"),
                    null, true, false));
            return this;
        }
    }

    private final List<Route> routes = new ArrayList<>();
    private final List<Group> groups = new ArrayList<>();
    private final Map<Integer, List<Route>> bySegmentCount = new HashMap<>();

    /** A group of public or agent routes only. */
    public Group group(String prefix, FaultStyle style) {
        return group(prefix, style, null);
    }

    public Group group(String prefix, FaultStyle style, PolicyTable policies) {
        var g = new Group(prefix, style, policies);
        groups.add(g);
        groups.sort(Comparator.comparingInt((Group x) -> x.prefix.length()).reversed());
        return g;
    }

    public void configure(Consumer<Router> c) {
        c.accept(this);
    }

    private void register(Route r) {
        if (r.action() != null && (r.group().policies() == null || !r.group().policies().has(r.action()))) {
            throw new IllegalStateException("route " + r.method() + " " + r.template() + " names policy action " + r.action()
                    + ", which its group's policy table does not have");
        }
        for (Route existing : routes) {
            if (existing.method.equals(r.method) && existing.template.equals(r.template)) {
                throw new IllegalStateException("duplicate route " + r.method + " " + r.template);
            }
        }
        routes.add(r);
        bySegmentCount.computeIfAbsent(r.segments.length, n -> new ArrayList<>()).add(r);
    }

    static String[] split(String path) {
        String p = path;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        if (p.equals("/") || p.isEmpty()) {
            return new String[0];
        }
        return (p.startsWith("/") ? p.substring(1) : p).split("/", -1);
    }

    /** The group whose prefix is the longest one that the path starts with; decides error shapes. */
    public Group groupFor(String path) {
        for (Group g : groups) {
            if (path.equals(g.prefix) || path.startsWith(g.prefix + "/") || g.prefix.isEmpty()) {
                return g;
            }
        }
        return null;
    }

    /** A route for the method and path; 404 or 405 as {@link ApiException} otherwise. */
    public Match match(String method, String rawPath) {
        String[] segs = split(rawPath);
        for (int i = 0; i < segs.length; i++) {
            try {
                segs[i] = URLDecoder.decode(segs[i].replace("+", "%2B"), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("Malformed path.");
            }
        }
        Set<String> allowed = new LinkedHashSet<>();
        for (Route r : bySegmentCount.getOrDefault(segs.length, List.of())) {
            Map<String, String> params = matches(r, segs);
            if (params == null) {
                continue;
            }
            if (r.method.equals(method) || ("HEAD".equals(method) && r.method.equals("GET") && !hasRoute("HEAD", r.template))) {
                return new Match(r, params);
            }
            allowed.add(r.method);
        }
        if (!allowed.isEmpty()) {
            throw new ApiException(405, "The method " + method + " is not allowed for this resource; allowed: "
                    + String.join(", ", allowed) + ".", Map.of("Allow", String.join(", ", allowed)));
        }
        throw ApiException.notFound("The resource could not be found.");
    }

    private boolean hasRoute(String method, String template) {
        for (Route r : routes) {
            if (r.method.equals(method) && r.template.equals(template)) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, String> matches(Route r, String[] segs) {
        Map<String, String> params = null;
        for (int i = 0; i < segs.length; i++) {
            String t = r.segments[i];
            if (t.startsWith("{") && t.endsWith("}")) {
                if (segs[i].isEmpty()) {
                    return null;
                }
                if (params == null) {
                    params = new HashMap<>();
                }
                params.put(t.substring(1, t.length() - 1), segs[i]);
            } else if (!t.equals(segs[i])) {
                return null;
            }
        }
        return params == null ? Map.of() : params;
    }

    public List<Route> routes() {
        return List.copyOf(routes);
    }
}
