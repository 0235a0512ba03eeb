package io.halcyon.controller;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.Rule;
import io.halcyon.api.http.Router;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Walks every route of the public API, as the controller registered it, with each kind of
 * caller (no token, an admin, a member and a reader of project A, and a member of project B) and
 * checks the answer against the route's rule in the policy table:
 * <ul>
 *   <li>no token: 401 on every route that is not public;</li>
 *   <li>a caller the rule refuses: 403 in the service's fault style, and the store unchanged;</li>
 *   <li>a caller the rule admits: never 401 or 403 (nor a 5xx), whatever else the request meets;</li>
 *   <li>project B's member on a route naming project A's resources: the answer it would get for
 *       a resource that does not exist (400, 403 or 404), the store unchanged, and nothing of
 *       project A in it; B's lists show nothing of A's.</li>
 * </ul>
 * Admitted calls that change things name no real resource (an all-zero id, an empty body), so
 * the fixtures stay; refused ones name real ones, so a missing check cannot hide behind a 404.
 */
class PolicyTableTest {
    static final String ZERO = "00000000-0000-0000-0000-000000000000";

    @TempDir
    static Path dir;
    static ControllerMain controller;
    static Http http;
    static final Map<String, String> tokens = new HashMap<>();
    static final Map<String, String> userIds = new HashMap<>();
    /** Project A's resources by kind, as the route templates name them. */
    static final Map<String, String> owned = new LinkedHashMap<>();
    /** Resources every project sees. */
    static final Map<String, String> shared = new HashMap<>();

    enum Caller { NONE, ADMIN, MEMBER, READER, FOREIGN }

    @BeforeAll
    static void start() throws Exception {
        controller = TestController.start(dir, "");
        http = new Http("http://127.0.0.1:" + controller.port());
        String admin = http.login("admin", TestController.ADMIN_PASSWORD, "admin");
        tokens.put("ADMIN", admin);
        var h = Http.token(admin);
        String pa = created(http.call("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "pa")), h), "project");
        String pb = created(http.call("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "pb")), h), "project");
        String member = http.call("GET", "/identity/v3/roles?name=member", null, h).json().path("roles").get(0).path("id").asText();
        String reader = http.call("GET", "/identity/v3/roles?name=reader", null, h).json().path("roles").get(0).path("id").asText();
        for (var u : List.of(List.of("MEMBER", "ua", pa, member), List.of("READER", "ra", pa, reader), List.of("FOREIGN", "ub", pb, member))) {
            String uid = created(http.call("POST", "/identity/v3/users", Map.of("user", Map.of("name", u.get(1), "password", "pw-" + u.get(1),
                    "default_project_id", u.get(2))), h), "user");
            assertThat(http.call("PUT", "/identity/v3/projects/" + u.get(2) + "/users/" + uid + "/roles/" + u.get(3), null, h).status())
                    .isEqualTo(204);
            userIds.put(u.get(0), uid);
            tokens.put(u.get(0), http.login(u.get(1), "pw-" + u.get(1), u.get(2).equals(pa) ? "pa" : "pb"));
        }
        var m = Http.token(tokens.get("MEMBER"));
        owned.put("project", pa);
        owned.put("user", userIds.get("MEMBER"));
        shared.put("role", member);
        shared.put("flavor", "1");

        // project A's compute, image, volume and network resources
        String image = http.call("POST", "/image/v2/images", Map.of("name", "a-image", "disk_format", "raw", "container_format", "bare"), m)
                .json().path("id").asText();
        assertThat(http.call("PUT", "/image/v2/images/" + image + "/file", new byte[4096],
                Map.of("X-Auth-Token", tokens.get("MEMBER"), "Content-Type", "application/octet-stream")).status()).isEqualTo(204);
        owned.put("image", image);
        var s = http.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "a-server", "flavorRef", "1", "imageRef", image,
                "metadata", Map.of("k", "v"))), m);
        assertThat(s.status()).as(s.body()).isEqualTo(202);
        String server = s.json().path("server").path("id").asText();
        owned.put("server", server);
        await().atMost(Duration.ofSeconds(10)).until(() -> !"BUILD".equals(http.call("GET", "/compute/v2.1/servers/" + server, null, m)
                .json().path("server").path("status").asText()));
        owned.put("server-group", created(http.call("POST", "/compute/v2.1/os-server-groups", Map.of("server_group", Map.of("name", "a-group",
                "policies", List.of("anti-affinity"))), m), "server_group"));
        String vols = "/volume/v3/" + pa;
        var v = http.call("POST", vols + "/volumes", Map.of("volume", Map.of("size", 1, "name", "a-volume")), m);
        String volume = v.json().path("volume").path("id").asText();
        owned.put("volume", volume);
        await().atMost(Duration.ofSeconds(30)).until(() -> "available".equals(http.call("GET", vols + "/volumes/" + volume, null, m).json()
                .path("volume").path("status").asText()));
        owned.put("snapshot", http.call("POST", vols + "/snapshots", Map.of("snapshot", Map.of("volume_id", volume)), m).json()
                .path("snapshot").path("id").asText());
        await().atMost(Duration.ofSeconds(30)).until(() -> "available".equals(http.call("GET", vols + "/snapshots/" + owned.get("snapshot"),
                null, m).json().path("snapshot").path("status").asText()));
        owned.put("backup", http.call("POST", vols + "/backups", Map.of("backup", Map.of("volume_id", volume)), m).json()
                .path("backup").path("id").asText());
        await().atMost(Duration.ofSeconds(60)).until(() -> "available".equals(http.call("GET", vols + "/backups/" + owned.get("backup"),
                null, m).json().path("backup").path("status").asText()));
        owned.put("backup-policy", created(http.call("POST", "/halcyon/v1/backup-policies", Map.of("backup_policy", Map.of("volume_id", volume,
                "interval", "1d", "keep_last", 1, "enabled", false)), m), "backup_policy"));
        String ext = created(http.call("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "ext", "router:external", true,
                "provider:network_type", "flat", "provider:physical_network", "provider")), h), "network");
        created(http.call("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", ext, "cidr", "172.30.0.0/24")), h), "subnet");
        String net = created(http.call("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "a-net")), m), "network");
        owned.put("network", net);
        owned.put("subnet", created(http.call("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net,
                "cidr", "10.9.0.0/24")), m), "subnet"));
        owned.put("port", created(http.call("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", net)), m), "port"));
        owned.put("router", created(http.call("POST", "/network/v2.0/routers", Map.of("router", Map.of("name", "a-router",
                "external_gateway_info", Map.of("network_id", ext))), m), "router"));
        String sg = created(http.call("POST", "/network/v2.0/security-groups", Map.of("security_group", Map.of("name", "a-sg")), m),
                "security_group");
        owned.put("security-group", sg);
        owned.put("security-group-rule", created(http.call("POST", "/network/v2.0/security-group-rules", Map.of("security_group_rule",
                Map.of("security_group_id", sg, "direction", "ingress", "protocol", "tcp", "port_range_min", 22, "port_range_max", 22)), m),
                "security_group_rule"));
        owned.put("floatingip", created(http.call("POST", "/network/v2.0/floatingips", Map.of("floatingip",
                Map.of("floating_network_id", ext)), m), "floatingip"));
    }

    static String created(Http.Res r, String key) {
        assertThat(r.status()).as(r.body()).isBetween(200, 202);
        return r.json().path(key).path("id").asText();
    }

    @AfterAll
    static void stop() {
        if (controller != null) {
            controller.close();
        }
    }

    @Test
    void everyRouteIsAuthorizedByAnActionOfItsServicesTable() {
        var routes = controller.routes();
        assertThat(routes).hasSizeGreaterThan(200);
        for (Router.Route r : routes) {
            switch (r.auth()) {
                case TOKEN -> assertThat(r.group().policies().has(r.action())).as(r.template()).isTrue();
                case NONE -> assertThat(r.action()).as(r.template()).isNull();
                case AGENT -> assertThat(r.template()).startsWith("/agent/");
            }
        }
    }

    /** As OpenStack's defaults have it: reading takes a reader, changing takes a member or more, never less. */
    @Test
    void noRuleLetsAReaderChangeAnything() {
        for (Router.Route r : controller.routes()) {
            if (r.auth() != Router.Auth.TOKEN) {
                continue;
            }
            Rule rule = r.group().policies().rule(r.action());
            if (r.method().equals("GET")) {
                assertThat(rule).as("%s %s (%s)", r.method(), r.template(), r.action()).isNotEqualTo(Rule.PROJECT_MEMBER);
            } else {
                assertThat(rule).as("%s %s (%s)", r.method(), r.template(), r.action()).isNotIn(Rule.PROJECT_READER, Rule.AUTHENTICATED);
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> everyRouteAnswersEachCallerAsItsRuleSays() {
        var tests = new ArrayList<DynamicTest>();
        for (Router.Route route : controller.routes()) {
            for (Caller c : Caller.values()) {
                tests.add(DynamicTest.dynamicTest(route.method() + " " + route.template() + " as " + c, () -> check(route, c)));
            }
        }
        return tests.stream();
    }

    static final Pattern PARAM = Pattern.compile("\\{([^}]+)}");

    /** The kind of resource a path parameter names: the segment before it, or the parameter's own name. */
    static String kind(String template, String param) {
        String before = template.substring(0, template.indexOf("{" + param + "}"));
        String[] segs = before.split("/");
        String prev = segs.length == 0 ? "" : segs[segs.length - 1];
        return switch (param) {
            case "project", "p", "target" -> "project";
            case "u" -> "user";
            case "r" -> "role";
            case "volume" -> "volume";
            case "port" -> "port";
            default -> switch (prev) {
                case "servers" -> "server";
                case "os-server-groups" -> "server-group";
                case "flavors" -> "flavor";
                case "volumes" -> "volume";
                case "snapshots" -> "snapshot";
                case "backups" -> "backup";
                case "images" -> "image";
                case "networks" -> "network";
                case "subnets" -> "subnet";
                case "ports" -> "port";
                case "routers" -> "router";
                case "security-groups" -> "security-group";
                case "security-group-rules" -> "security-group-rule";
                case "floatingips" -> "floatingip";
                case "backup-policies" -> "backup-policy";
                case "users" -> "user";
                case "projects", "os-quota-sets", "quotas" -> "project";
                case "roles" -> "role";
                case "domains" -> "domain";
                case "types" -> "type";
                case "metadata" -> "metadata-key";
                default -> "other";
            };
        };
    }

    /**
     * The path for a call: {@code real} names project A's resources (and the shared ones), else
     * every parameter is one that names nothing, but for the project in a Cinder URL and for a
     * route about "self", which names the caller.
     */
    static String path(Router.Route route, boolean real, Caller c) {
        Matcher m = PARAM.matcher(route.template());
        var out = new StringBuilder();
        while (m.find()) {
            String param = m.group(1);
            String kind = kind(route.template(), param);
            String value;
            if (param.equals(route.selfParam()) && !real && c != Caller.ADMIN) {
                value = userIds.getOrDefault(c.name(), ZERO);
            } else if (route.template().startsWith("/volume/v3/{project}") && param.equals("project")) {
                value = owned.get("project");
            } else if (!real) {
                value = kind.equals("metadata-key") ? "no-such-key" : ZERO;
            } else {
                value = switch (kind) {
                    case "domain" -> "default";
                    case "type" -> "default";
                    case "metadata-key" -> "k";
                    default -> owned.getOrDefault(kind, shared.getOrDefault(kind, ZERO));
                };
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** Whether the route names any of project A's resources. */
    static boolean namesProjectA(Router.Route route) {
        Matcher m = PARAM.matcher(route.template());
        while (m.find()) {
            if (owned.containsKey(kind(route.template(), m.group(1)))) {
                return true;
            }
        }
        return false;
    }

    static boolean admits(Rule rule, Caller c, String selfUser) {
        return switch (rule) {
            case PUBLIC -> true;
            case AUTHENTICATED, ADMIN_OR_OWNER, PROJECT_READER -> c != Caller.NONE;
            case PROJECT_MEMBER -> c == Caller.ADMIN || c == Caller.MEMBER || c == Caller.FOREIGN;
            case ADMIN -> c == Caller.ADMIN;
            case ADMIN_OR_SELF -> c == Caller.ADMIN || (c != Caller.NONE && userIds.get(c.name()).equals(selfUser));
            case SELF -> c != Caller.NONE && c != Caller.ADMIN && userIds.get(c.name()).equals(selfUser);
            case AGENT -> false;
        };
    }

    static void check(Router.Route route, Caller c) throws Exception {
        Rule rule = switch (route.auth()) {
            case NONE -> Rule.PUBLIC;
            case AGENT -> Rule.AGENT;
            case TOKEN -> route.group().policies().rule(route.action());
        };
        var headers = new HashMap<String, String>();
        if (c != Caller.NONE) {
            headers.put("X-Auth-Token", tokens.get(c.name()));
        }
        boolean get = route.method().equals("GET");
        Object body = get || route.method().equals("DELETE") ? null : "{}";
        if (rule == Rule.PUBLIC) {
            var r = http.call(route.method(), path(route, get, c), body, headers);
            assertThat(r.status()).as(r.body()).isNotIn(401, 403).isLessThan(500);
            return;
        }
        if (c == Caller.NONE || rule == Rule.AGENT) {
            var r = http.call(route.method(), path(route, true, c), body, headers);
            assertThat(r.status()).as(r.body()).isEqualTo(401);
            return;
        }
        String selfUser = owned.get("user");
        boolean admitted = admits(rule, c, selfUser);
        controller.resources().sync();
        long before = controller.resources().store().revision();
        if (!admitted) {
            var r = http.call(route.method(), path(route, true, c), body, headers);
            assertThat(r.status()).as("refused by %s: %s", rule, r.body()).isEqualTo(403);
            assertThat(r.json()).as(r.body()).isNotNull();
            String key = switch (route.group().style()) {
                case NOVA -> "forbidden";
                case KEYSTONE -> "error";
                case NEUTRON -> "NeutronError";
            };
            assertThat(r.json().has(key)).as("fault style %s: %s", route.group().style(), r.body()).isTrue();
            unchanged(before);
            return;
        }
        if (c == Caller.FOREIGN && namesProjectA(route)) {
            // the same answer as for a resource that does not exist: nothing tells B that A's exists
            String p = path(route, true, c);
            var r = http.call(route.method(), p, body, headers);
            var none = http.call(route.method(), path(route, false, c), body, headers);
            assertThat(r.status()).as("another project's: %s; one that does not exist: %s", r.body(), none.body()).isEqualTo(none.status());
            if (!route.template().endsWith("/defaults")) {
                assertThat(r.status()).as("another project's: %s", r.body()).isIn(400, 403, 404);
            }
            unchanged(before);
            noLeak(r, p);
            return;
        }
        var r = http.call(route.method(), path(route, get, c), body, headers);
        if (rule == Rule.ADMIN_OR_OWNER && c != Caller.ADMIN) {
            assertThat(r.status()).as(r.body()).isNotEqualTo(401).isLessThan(500);
        } else {
            assertThat(r.status()).as("admitted by %s: %s", rule, r.body()).isNotIn(401, 403).isLessThan(500);
        }
        if (c == Caller.FOREIGN && get) {
            noLeak(r, "");
        }
    }

    static void unchanged(long before) {
        controller.resources().sync();
        assertThat(controller.resources().store().revision()).as("the store changed").isEqualTo(before);
    }

    /** Project A's resources appear nowhere in an answer to project B, but where the request itself named them. */
    static void noLeak(Http.Res r, String requestPath) {
        for (var e : owned.entrySet()) {
            if (e.getKey().equals("user") || requestPath.contains(e.getValue())) {
                continue;
            }
            assertThat(r.body()).as("%s of project A in an answer to project B", e.getKey()).doesNotContain(e.getValue());
        }
    }

    @Test
    void aReaderCanChangeNothingOfItsProjectsNetworks() {
        var reader = Map.of("X-Auth-Token", tokens.get("READER"));
        controller.resources().sync();
        long before = controller.resources().store().revision();
        for (var call : List.of(List.of("PUT", "/network/v2.0/networks/" + owned.get("network"), "{\"network\": {\"name\": \"x\"}}"),
                List.of("DELETE", "/network/v2.0/networks/" + owned.get("network"), ""),
                List.of("PUT", "/network/v2.0/subnets/" + owned.get("subnet"), "{\"subnet\": {\"name\": \"x\"}}"),
                List.of("DELETE", "/network/v2.0/subnets/" + owned.get("subnet"), ""))) {
            var r = http.call(call.get(0), call.get(1), call.get(2).isEmpty() ? null : call.get(2), reader);
            assertThat(r.status()).as(call + ": " + r.body()).isEqualTo(403);
            assertThat(r.json().path("NeutronError").path("type").asText()).isEqualTo("PolicyNotAuthorized");
        }
        unchanged(before);
        JsonNode shown = http.call("GET", "/network/v2.0/networks/" + owned.get("network"), null, reader).json();
        assertThat(shown.path("network").path("name").asText()).isEqualTo("a-net");
    }
}
