package io.halcyon.api.http;

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

/**
 * Explicit route table: each route is a method, a path template with {@code {param}} segments,
 * how its caller authenticates, and an endpoint. Routes are registered by hand in each service's
 * API class; nothing is found by reflection.
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

    public record Route(String method, String template, String[] segments, Auth auth, Group group, Endpoint endpoint,
                        AsyncEndpoint async) {
    }

    public record Match(Route route, Map<String, String> params) {
    }

    /** Routes under one prefix that share a fault style and hooks. */
    public final class Group {
        private final String prefix;
        private final FaultStyle style;
        private final List<Hook> hooks = new ArrayList<>();

        Group(String prefix, FaultStyle style) {
            this.prefix = prefix;
            this.style = style;
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

        public Group add(String method, String path, Auth auth, Endpoint e) {
            register(new Route(method, prefix + path, split(prefix + path), auth, this, e, null));
            return this;
        }

        public Group addAsync(String method, String path, Auth auth, AsyncEndpoint e) {
            register(new Route(method, prefix + path, split(prefix + path), auth, this, null, e));
            return this;
        }

        public Group get(String path, Endpoint e) {
            return add("GET", path, Auth.TOKEN, e);
        }

        public Group post(String path, Endpoint e) {
            return add("POST", path, Auth.TOKEN, e);
        }

        public Group put(String path, Endpoint e) {
            return add("PUT", path, Auth.TOKEN, e);
        }

        public Group patch(String path, Endpoint e) {
            return add("PATCH", path, Auth.TOKEN, e);
        }

        public Group delete(String path, Endpoint e) {
            return add("DELETE", path, Auth.TOKEN, e);
        }

        public Group head(String path, Endpoint e) {
            return add("HEAD", path, Auth.TOKEN, e);
        }

        public Group open(String method, String path, Endpoint e) {
            return add(method, path, Auth.NONE, e);
        }
    }

    private final List<Route> routes = new ArrayList<>();
    private final List<Group> groups = new ArrayList<>();
    private final Map<Integer, List<Route>> bySegmentCount = new HashMap<>();

    public Group group(String prefix, FaultStyle style) {
        var g = new Group(prefix, style);
        groups.add(g);
        groups.sort(Comparator.comparingInt((Group x) -> x.prefix.length()).reversed());
        return g;
    }

    public void configure(Consumer<Router> c) {
        c.accept(this);
    }

    private void register(Route r) {
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
