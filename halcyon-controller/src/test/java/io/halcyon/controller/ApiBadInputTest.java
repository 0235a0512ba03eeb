package io.halcyon.controller;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Bad input on every API: each case gets the right 4xx with the service's fault body, never a
 * 500, and the store's revision does not move (nothing changed).
 */
class ApiBadInputTest {
    @TempDir
    static Path dir;
    static ControllerMain controller;
    static Http http;
    /** The agents' own listener. */
    static Http agentHttp;
    static final Map<String, String> tokens = new HashMap<>();
    static final Map<String, String> vars = new HashMap<>();

    record Case(String name, String who, String method, String path, Object body, Map<String, String> headers, int status,
                String faultKey) {
        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeAll
    static void start() {
        try {
            controller = TestController.start(dir, "");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        http = new Http("http://127.0.0.1:" + controller.port());
        agentHttp = new Http("http://127.0.0.1:" + controller.agentPort());
        String admin = http.login("admin", TestController.ADMIN_PASSWORD, "admin");
        tokens.put("admin", admin);
        var h = Http.token(admin);
        String p1 = http.call("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "p1")), h).json().path("project").path("id").asText();
        String p2 = http.call("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "p2")), h).json().path("project").path("id").asText();
        String member = roleId(h, "member");
        String reader = roleId(h, "reader");
        for (var u : List.of(List.of("u1", p1, member), List.of("u2", p2, member), List.of("r1", p1, reader))) {
            String uid = http.call("POST", "/identity/v3/users", Map.of("user", Map.of("name", u.get(0), "password", "pw-" + u.get(0),
                    "default_project_id", u.get(1))), h).json().path("user").path("id").asText();
            assertThat(http.call("PUT", "/identity/v3/projects/" + u.get(1) + "/users/" + uid + "/roles/" + u.get(2), null, h).status()).isEqualTo(204);
            vars.put(u.get(0), uid);
        }
        tokens.put("u1", http.login("u1", "pw-u1", "p1"));
        tokens.put("u2", http.login("u2", "pw-u2", "p2"));
        tokens.put("r1", http.login("r1", "pw-r1", "p1"));
        vars.put("p1", p1);
        vars.put("p2", p2);
        vars.put("member", member);
        String image = http.call("POST", "/image/v2/images", Map.of("name", "img", "disk_format", "raw", "container_format", "bare",
                "visibility", "public"), h).json().path("id").asText();
        assertThat(http.call("PUT", "/image/v2/images/" + image + "/file", new byte[4096],
                Map.of("X-Auth-Token", admin, "Content-Type", "application/octet-stream")).status()).isEqualTo(204);
        vars.put("image", image);
        String queued = http.call("POST", "/image/v2/images", Map.of("name", "queued", "disk_format", "qcow2", "container_format", "bare"),
                Http.token(tokens.get("u1"))).json().path("id").asText();
        vars.put("queued", queued);
        // a qcow2 whose header claims 2^62 bytes: its gigabytes overflow an int
        String huge = http.call("POST", "/image/v2/images", Map.of("name", "huge", "disk_format", "qcow2", "container_format", "bare"),
                Http.token(tokens.get("u1"))).json().path("id").asText();
        byte[] header = new byte[512];
        java.nio.ByteBuffer.wrap(header).putInt(0, 0x514649fb).putInt(4, 3).putLong(24, 1L << 62);
        assertThat(http.call("PUT", "/image/v2/images/" + huge + "/file", header,
                Map.of("X-Auth-Token", tokens.get("u1"), "Content-Type", "application/octet-stream")).status()).isEqualTo(204);
        vars.put("huge", huge);
        var s = http.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "s1", "flavorRef", "1", "imageRef", image)),
                Http.token(tokens.get("u1")));
        assertThat(s.status()).isEqualTo(202);
        String server = s.json().path("server").path("id").asText();
        vars.put("server", server);
        // no hosts: the scheduler puts it in ERROR, which gives a stable target
        await().atMost(Duration.ofSeconds(10)).until(() -> "ERROR".equals(http.call("GET", "/compute/v2.1/servers/" + server, null,
                Http.token(tokens.get("u1"))).json().path("server").path("status").asText()));

        // volumes of p1: one available, one with a snapshot, one held by a server that boots with it
        var u1 = Http.token(tokens.get("u1"));
        for (String name : List.of("vol", "snapvol", "held")) {
            var v = http.call("POST", "/volume/v3/" + p1 + "/volumes", Map.of("volume", Map.of("size", 1, "name", name)), u1);
            assertThat(v.status()).as(v.body()).isEqualTo(202);
            vars.put(name, v.json().path("volume").path("id").asText());
            await().atMost(Duration.ofSeconds(30)).until(() -> "available".equals(http.call("GET", "/volume/v3/" + p1 + "/volumes/"
                    + vars.get(name), null, u1).json().path("volume").path("status").asText()));
        }
        var snap = http.call("POST", "/volume/v3/" + p1 + "/snapshots", Map.of("snapshot", Map.of("volume_id", vars.get("snapvol"))), u1);
        assertThat(snap.status()).as(snap.body()).isEqualTo(202);
        vars.put("snapshot", snap.json().path("snapshot").path("id").asText());
        await().atMost(Duration.ofSeconds(30)).until(() -> "available".equals(http.call("GET", "/volume/v3/" + p1 + "/snapshots/"
                + vars.get("snapshot"), null, u1).json().path("snapshot").path("status").asText()));
        var holder = http.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "holder", "flavorRef", "1", "imageRef", image,
                "block_device_mapping_v2", List.of(Map.of("uuid", vars.get("held"), "source_type", "volume", "destination_type", "volume",
                        "boot_index", -1)))), u1);
        assertThat(holder.status()).as(holder.body()).isEqualTo(202);
        var s2 = http.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "s2", "flavorRef", "1", "imageRef", image)),
                Http.token(tokens.get("u2")));
        vars.put("server2", s2.json().path("server").path("id").asText());
        await().atMost(Duration.ofSeconds(10)).until(() -> "ERROR".equals(http.call("GET", "/compute/v2.1/servers/" + vars.get("server2"),
                null, Http.token(tokens.get("u2"))).json().path("server").path("status").asText()));
        NetworkBadInputCases.networks();
    }

    static String roleId(Map<String, String> h, String name) {
        return http.call("GET", "/identity/v3/roles?name=" + name, null, h).json().path("roles").get(0).path("id").asText();
    }

    @AfterAll
    static void stop() {
        if (controller != null) {
            controller.close();
        }
    }

    static Case c(String name, String who, String method, String path, Object body, int status, String faultKey) {
        return new Case(name, who, method, path, body, Map.of(), status, faultKey);
    }

    static Case c(String name, String who, String method, String path, Object body, Map<String, String> headers, int status, String faultKey) {
        return new Case(name, who, method, path, body, headers, status, faultKey);
    }

    static Map<String, Object> auth(String user, String password, String project) {
        var identity = Map.of("methods", List.of("password"), "password",
                Map.of("user", Map.of("name", user, "domain", Map.of("id", "default"), "password", password)));
        var auth = new HashMap<String, Object>(Map.of("identity", identity));
        if (project != null) {
            auth.put("scope", Map.of("project", Map.of("name", project, "domain", Map.of("id", "default"))));
        }
        return Map.of("auth", auth);
    }

    static Map<String, Object> server(Map<String, Object> fields) {
        var m = new HashMap<String, Object>(Map.of("name", "x", "flavorRef", "1", "imageRef", "{image}"));
        m.putAll(fields);
        m.values().removeIf(v -> v == null);
        return Map.of("server", m);
    }

    static Stream<Case> cases() {
        String big = "x".repeat(200_000);
        var list = new ArrayList<Case>();
        // identity
        list.add(c("auth: malformed JSON", "none", "POST", "/identity/v3/auth/tokens", "{\"auth\": ", 400, "error"));
        list.add(c("auth: not an object", "none", "POST", "/identity/v3/auth/tokens", "[1,2]", 400, "error"));
        list.add(c("auth: missing auth", "none", "POST", "/identity/v3/auth/tokens", Map.of("x", 1), 400, "error"));
        list.add(c("auth: methods not a list", "none", "POST", "/identity/v3/auth/tokens",
                Map.of("auth", Map.of("identity", Map.of("methods", "password"))), 400, "error"));
        list.add(c("auth: wrong password", "none", "POST", "/identity/v3/auth/tokens", auth("admin", "wrong", null), 401, "error"));
        list.add(c("auth: unknown project", "none", "POST", "/identity/v3/auth/tokens", auth("u1", "pw-u1", "nope"), 401, "error"));
        list.add(c("auth: no role on the project", "none", "POST", "/identity/v3/auth/tokens", auth("u1", "pw-u1", "p2"), 401, "error"));
        list.add(c("no token", "none", "GET", "/identity/v3/projects", null, 401, "error"));
        list.add(c("garbage token", "garbage", "GET", "/compute/v2.1/servers", null, 401, "unauthorized"));
        list.add(c("forged token", "forged", "GET", "/compute/v2.1/servers", null, 401, "unauthorized"));
        list.add(c("project: name of wrong type", "admin", "POST", "/identity/v3/projects", Map.of("project", Map.of("name", 5)), 400, "error"));
        list.add(c("project: duplicate name", "admin", "POST", "/identity/v3/projects", Map.of("project", Map.of("name", "p1")), 409, "error"));
        list.add(c("project: other domain", "admin", "POST", "/identity/v3/projects", Map.of("project", Map.of("name", "p9", "domain_id", "x")), 400, "error"));
        list.add(c("project: created by a member", "u1", "POST", "/identity/v3/projects", Map.of("project", Map.of("name", "p9")), 403, "error"));
        list.add(c("project: unknown id", "admin", "GET", "/identity/v3/projects/nope", null, 404, "error"));
        list.add(c("user: unknown default project", "admin", "POST", "/identity/v3/users",
                Map.of("user", Map.of("name", "u9", "default_project_id", "nope")), 400, "error"));
        list.add(c("user: unknown id patched", "admin", "PATCH", "/identity/v3/users/nope", Map.of("user", Map.of("enabled", false)), 404, "error"));
        list.add(c("user: enabled not a boolean", "admin", "PATCH", "/identity/v3/users/{u1}", Map.of("user", Map.of("enabled", "maybe")), 400, "error"));
        list.add(c("grant: unknown user", "admin", "PUT", "/identity/v3/projects/{p1}/users/nope/roles/{member}", null, 404, "error"));
        list.add(c("grant: by a member", "u1", "PUT", "/identity/v3/projects/{p1}/users/{u2}/roles/{member}", null, 403, "error"));
        list.add(c("users listed by a member", "u1", "GET", "/identity/v3/users", null, 403, "error"));
        list.add(c("identity: unknown route", "admin", "GET", "/identity/v3/nothing", null, 404, "error"));
        // compute
        list.add(c("server: malformed JSON", "u1", "POST", "/compute/v2.1/servers", "{\"server\": {", 400, "badRequest"));
        list.add(c("server: empty body", "u1", "POST", "/compute/v2.1/servers", "", 400, "badRequest"));
        list.add(c("server: name of wrong type", "u1", "POST", "/compute/v2.1/servers", server(Map.of("name", 123)), 400, "badRequest"));
        list.add(c("server: empty name", "u1", "POST", "/compute/v2.1/servers", server(Map.of("name", "")), 400, "badRequest"));
        list.add(c("server: missing flavorRef", "u1", "POST", "/compute/v2.1/servers",
                Map.of("server", Map.of("name", "x", "imageRef", "{image}")), 400, "badRequest"));
        list.add(c("server: unknown flavor", "u1", "POST", "/compute/v2.1/servers", server(Map.of("flavorRef", "999")), 400, "badRequest"));
        list.add(c("server: unknown image", "u1", "POST", "/compute/v2.1/servers",
                server(Map.of("imageRef", "11111111-2222-3333-4444-555555555555")), 400, "badRequest"));
        list.add(c("server: image id not a uuid", "u1", "POST", "/compute/v2.1/servers", server(Map.of("imageRef", "not-a-uuid")), 400, "badRequest"));
        list.add(c("server: image without data", "u1", "POST", "/compute/v2.1/servers", server(Map.of("imageRef", "{queued}")), 400, "badRequest"));
        list.add(c("server: unknown property", "u1", "POST", "/compute/v2.1/servers", server(Map.of("colour", "blue")), 400, "badRequest"));
        list.add(c("server: user_data not base64", "u1", "POST", "/compute/v2.1/servers", server(Map.of("user_data", "%%%not base64")), 400, "badRequest"));
        list.add(c("server: metadata value not a string", "u1", "POST", "/compute/v2.1/servers", server(Map.of("metadata", Map.of("a", 1))), 400, "badRequest"));
        list.add(c("server: unknown network", "u1", "POST", "/compute/v2.1/servers",
                server(Map.of("networks", List.of(Map.of("uuid", "11111111-2222-3333-4444-555555555555")))), 400, "badRequest"));
        list.add(c("server: min_count not a number", "u1", "POST", "/compute/v2.1/servers", server(Map.of("min_count", "abc")), 400, "badRequest"));
        list.add(c("server: max_count below min_count", "u1", "POST", "/compute/v2.1/servers", server(Map.of("min_count", 3, "max_count", 2)), 400, "badRequest"));
        list.add(c("server: unknown availability zone", "u1", "POST", "/compute/v2.1/servers", server(Map.of("availability_zone", "mars")), 400, "badRequest"));
        list.add(c("server: key pair that does not exist", "u1", "POST", "/compute/v2.1/servers", server(Map.of("key_name", "k")), 400, "badRequest"));
        list.add(c("server: over the instance quota", "u1", "POST", "/compute/v2.1/servers", server(Map.of("min_count", 50)), 403, "forbidden"));
        list.add(c("server: created by a reader", "r1", "POST", "/compute/v2.1/servers", server(Map.of()), 403, "forbidden"));
        list.add(c("server: body over the size limit", "u1", "POST", "/compute/v2.1/servers", server(Map.of("name", big)), 413, "overLimit"));
        list.add(c("server: id not a uuid", "u1", "GET", "/compute/v2.1/servers/not-a-uuid", null, 404, "itemNotFound"));
        list.add(c("server: unknown id action", "u1", "POST", "/compute/v2.1/servers/11111111-2222-3333-4444-555555555555/action",
                Map.of("os-stop", Map.of()), 404, "itemNotFound"));
        list.add(c("action: unknown", "u1", "POST", "/compute/v2.1/servers/{server}/action", Map.of("os-fly", Map.of()), 400, "badRequest"));
        list.add(c("action: two at once", "u1", "POST", "/compute/v2.1/servers/{server}/action", Map.of("os-stop", Map.of(), "os-start", Map.of()), 400, "badRequest"));
        list.add(c("action: reboot type", "u1", "POST", "/compute/v2.1/servers/{server}/action", Map.of("reboot", Map.of("type", "WARM")), 400, "badRequest"));
        list.add(c("action: reboot not an object", "u1", "POST", "/compute/v2.1/servers/{server}/action", Map.of("reboot", "SOFT"), 400, "badRequest"));
        list.add(c("action: start from ERROR", "u1", "POST", "/compute/v2.1/servers/{server}/action", Map.of("os-start", Map.of()), 409, "conflictingRequest"));
        list.add(c("action: stop an unplaced server", "u1", "POST", "/compute/v2.1/servers/{server}/action", Map.of("os-stop", Map.of()), 409, "conflictingRequest"));
        list.add(c("action: console of an unplaced server", "u1", "POST", "/compute/v2.1/servers/{server}/action",
                Map.of("os-getConsoleOutput", Map.of("length", 10)), 409, "conflictingRequest"));
        list.add(c("action: console length not a number", "u1", "POST", "/compute/v2.1/servers/{server}/action",
                Map.of("os-getConsoleOutput", Map.of("length", "ten")), 400, "badRequest"));
        list.add(c("action: not implemented yet", "u1", "POST", "/compute/v2.1/servers/{server}/action", Map.of("pause", Map.of()), 501, "notImplemented"));
        list.add(c("action: by a reader", "r1", "POST", "/compute/v2.1/servers/{server}/action", Map.of("os-stop", Map.of()), 403, "forbidden"));
        list.add(c("other project: show", "u2", "GET", "/compute/v2.1/servers/{server}", null, 404, "itemNotFound"));
        list.add(c("other project: delete", "u2", "DELETE", "/compute/v2.1/servers/{server}", null, 404, "itemNotFound"));
        list.add(c("other project: action", "u2", "POST", "/compute/v2.1/servers/{server}/action", Map.of("reboot", Map.of("type", "HARD")), 404, "itemNotFound"));
        list.add(c("other project: metadata", "u2", "PUT", "/compute/v2.1/servers/{server}/metadata", Map.of("metadata", Map.of("a", "b")), 404, "itemNotFound"));
        list.add(c("other project: events", "u2", "GET", "/compute/v2.1/servers/{server}/os-instance-actions", null, 404, "itemNotFound"));
        list.add(c("metadata: key mismatch", "u1", "PUT", "/compute/v2.1/servers/{server}/metadata/a", Map.of("meta", Map.of("b", "c")), 400, "badRequest"));
        list.add(c("servers: marker not found", "u1", "GET", "/compute/v2.1/servers?marker=nope", null, 400, "badRequest"));
        list.add(c("servers: limit not a number", "u1", "GET", "/compute/v2.1/servers?limit=abc", null, 400, "badRequest"));
        list.add(c("servers: negative limit", "u1", "GET", "/compute/v2.1/servers?limit=-1", null, 400, "badRequest"));
        list.add(c("servers: wrong method", "u1", "DELETE", "/compute/v2.1/servers", null, 405, "badMethod"));
        list.add(c("compute: unknown route", "u1", "GET", "/compute/v2.1/nothing", null, 404, "itemNotFound"));
        list.add(c("compute: microversion too new", "u1", "GET", "/compute/v2.1/servers", null,
                Map.of("OpenStack-API-Version", "compute 2.90"), 406, "notAcceptable"));
        list.add(c("compute: microversion garbage", "u1", "GET", "/compute/v2.1/servers", null,
                Map.of("X-OpenStack-Nova-API-Version", "two"), 400, "badRequest"));
        list.add(c("flavor: ram not a number", "admin", "POST", "/compute/v2.1/flavors",
                Map.of("flavor", Map.of("name", "f", "ram", "abc", "vcpus", 1, "disk", 1)), 400, "badRequest"));
        list.add(c("flavor: zero vcpus", "admin", "POST", "/compute/v2.1/flavors",
                Map.of("flavor", Map.of("name", "f", "ram", 64, "vcpus", 0, "disk", 1)), 400, "badRequest"));
        list.add(c("flavor: duplicate name", "admin", "POST", "/compute/v2.1/flavors",
                Map.of("flavor", Map.of("name", "m1.tiny", "ram", 64, "vcpus", 1, "disk", 1)), 409, "conflictingRequest"));
        list.add(c("flavor: duplicate id", "admin", "POST", "/compute/v2.1/flavors",
                Map.of("flavor", Map.of("name", "other", "id", "1", "ram", 64, "vcpus", 1, "disk", 1)), 409, "conflictingRequest"));
        list.add(c("flavor: name with leading space", "admin", "POST", "/compute/v2.1/flavors",
                Map.of("flavor", Map.of("name", " f", "ram", 64, "vcpus", 1, "disk", 1)), 400, "badRequest"));
        list.add(c("flavor: created by a member", "u1", "POST", "/compute/v2.1/flavors",
                Map.of("flavor", Map.of("name", "f", "ram", 64, "vcpus", 1, "disk", 1)), 403, "forbidden"));
        list.add(c("flavor: unknown id", "u1", "GET", "/compute/v2.1/flavors/nope", null, 404, "itemNotFound"));
        list.add(c("flavor: extra spec key", "admin", "POST", "/compute/v2.1/flavors/1/os-extra_specs",
                Map.of("extra_specs", Map.of("bad key!", "v")), 400, "badRequest"));
        list.add(c("quota: unknown project", "admin", "PUT", "/compute/v2.1/os-quota-sets/nope", Map.of("quota_set", Map.of("instances", 5)), 400, "badRequest"));
        list.add(c("quota: negative below -1", "admin", "PUT", "/compute/v2.1/os-quota-sets/{p1}", Map.of("quota_set", Map.of("instances", -5)), 400, "badRequest"));
        list.add(c("quota: below usage", "admin", "PUT", "/compute/v2.1/os-quota-sets/{p1}", Map.of("quota_set", Map.of("instances", 0)), 400, "badRequest"));
        list.add(c("quota: set by a member", "u1", "PUT", "/compute/v2.1/os-quota-sets/{p1}", Map.of("quota_set", Map.of("instances", 5)), 403, "forbidden"));
        list.add(c("quota: other project shown", "u1", "GET", "/compute/v2.1/os-quota-sets/{p2}", null, 403, "forbidden"));
        list.add(c("hypervisors by a member", "u1", "GET", "/compute/v2.1/os-hypervisors", null, 403, "forbidden"));
        // image
        list.add(c("image: malformed JSON", "u1", "POST", "/image/v2/images", "{", 400, "error"));
        list.add(c("image: unsupported disk format", "u1", "POST", "/image/v2/images", Map.of("name", "v", "disk_format", "vmdk"), 400, "error"));
        list.add(c("image: invalid disk format", "u1", "POST", "/image/v2/images", Map.of("name", "v", "disk_format", "floppy"), 400, "error"));
        list.add(c("image: public by a member", "u1", "POST", "/image/v2/images", Map.of("name", "v", "visibility", "public"), 403, "error"));
        list.add(c("image: id not a uuid", "u1", "POST", "/image/v2/images", Map.of("id", "abc"), 400, "error"));
        list.add(c("image: duplicate id", "admin", "POST", "/image/v2/images", Map.of("id", "{image}"), 409, "error"));
        list.add(c("image: read-only attribute", "u1", "POST", "/image/v2/images", Map.of("name", "v", "status", "active"), 403, "error"));
        list.add(c("image: unknown id", "u1", "GET", "/image/v2/images/nope", null, 404, "error"));
        list.add(c("image: upload to unknown", "u1", "PUT", "/image/v2/images/nope/file", new byte[10],
                Map.of("Content-Type", "application/octet-stream"), 404, "error"));
        list.add(c("image: upload to an active image", "admin", "PUT", "/image/v2/images/{image}/file", new byte[10],
                Map.of("Content-Type", "application/octet-stream"), 409, "error"));
        list.add(c("image: upload to another project's", "u2", "PUT", "/image/v2/images/{queued}/file", new byte[10],
                Map.of("Content-Type", "application/octet-stream"), 404, "error"));
        list.add(c("image: delete a public image as member", "u1", "DELETE", "/image/v2/images/{image}", null, 403, "error"));
        list.add(c("image: patch not a list", "u1", "PATCH", "/image/v2/images/{queued}", Map.of("op", "add"), 400, "error"));
        list.add(c("image: patch read-only", "u1", "PATCH", "/image/v2/images/{queued}", List.of(Map.of("op", "replace", "path", "/status", "value", "active")), 403, "error"));
        list.add(c("image: patch bad op", "u1", "PATCH", "/image/v2/images/{queued}", List.of(Map.of("op", "move", "path", "/name", "value", "x")), 400, "error"));
        list.add(c("images: limit not a number", "u1", "GET", "/image/v2/images?limit=abc", null, 400, "error"));
        list.add(c("image: patch a name past create's limit", "u1", "PATCH", "/image/v2/images/{queued}",
                List.of(Map.of("op", "replace", "path", "/name", "value", "n".repeat(100_000))), 400, "error"));
        list.add(c("image: patch followed by garbage", "u1", "PATCH", "/image/v2/images/{queued}",
                "[{\"op\": \"replace\", \"path\": \"/name\", \"value\": \"x\"}] trailing", 400, "error"));
        list.add(c("server: name with a NUL", "u1", "POST", "/compute/v2.1/servers", server(Map.of("name", "a\u0000b")), 400, "badRequest"));
        list.add(c("server: name with a control character", "u1", "POST", "/compute/v2.1/servers", server(Map.of("name", "bell\u0007")),
                400, "badRequest"));
        list.add(c("server: renamed with a line feed", "u1", "PUT", "/compute/v2.1/servers/{server}", Map.of("server", Map.of("name", "a\nb")),
                400, "badRequest"));
        list.add(c("server group: name with an escape", "u1", "POST", "/compute/v2.1/os-server-groups",
                Map.of("server_group", Map.of("name", "\u001b[31mred", "policies", List.of("affinity"))), 400, "badRequest"));
        // block storage
        String vols = "/volume/v3/{p1}/volumes";
        String zero = "00000000-0000-0000-0000-000000000000";
        list.add(c("volume: size 0", "u1", "POST", vols, Map.of("volume", Map.of("size", 0)), 400, "badRequest"));
        list.add(c("volume: negative size", "u1", "POST", vols, Map.of("volume", Map.of("size", -5)), 400, "badRequest"));
        list.add(c("volume: size not a number", "u1", "POST", vols, Map.of("volume", Map.of("size", "big")), 400, "badRequest"));
        list.add(c("volume: fractional size", "u1", "POST", vols, Map.of("volume", Map.of("size", 1.5)), 400, "badRequest"));
        list.add(c("volume: size past an int", "u1", "POST", vols, Map.of("volume", Map.of("size", 4_294_967_296L)), 400, "badRequest"));
        list.add(c("volume: no size", "u1", "POST", vols, Map.of("volume", Map.of("name", "x")), 400, "badRequest"));
        list.add(c("volume: beyond the gigabytes quota", "u1", "POST", vols, Map.of("volume", Map.of("size", 1001)), 413, "overLimit"));
        list.add(c("volume: unknown image", "u1", "POST", vols, Map.of("volume", Map.of("size", 1, "imageRef", zero)), 400, "badRequest"));
        list.add(c("volume: from an image claiming 2^62 bytes", "u1", "POST", vols, Map.of("volume", Map.of("size", 1, "imageRef", "{huge}")),
                400, "badRequest"));
        list.add(c("volume: unknown snapshot", "u1", "POST", vols, Map.of("volume", Map.of("size", 1, "snapshot_id", zero)), 404, "itemNotFound"));
        list.add(c("volume: unknown source volume", "u1", "POST", vols, Map.of("volume", Map.of("size", 1, "source_volid", zero)), 404, "itemNotFound"));
        list.add(c("volume: another project's source volume", "u2", "POST", "/volume/v3/{p2}/volumes",
                Map.of("volume", Map.of("size", 1, "source_volid", "{vol}")), 404, "itemNotFound"));
        list.add(c("volume: unknown type", "u1", "POST", vols, Map.of("volume", Map.of("size", 1, "volume_type", "gold")), 404, "itemNotFound"));
        list.add(c("volume: two sources", "u1", "POST", vols, Map.of("volume", Map.of("size", 1, "imageRef", "{image}",
                "snapshot_id", "{snapshot}")), 400, "badRequest"));
        list.add(c("volume: multiattach", "u1", "POST", vols, Map.of("volume", Map.of("size", 1, "multiattach", true)), 400, "badRequest"));
        list.add(c("volume: not an object", "u1", "POST", vols, Map.of("volume", List.of(1)), 400, "badRequest"));
        list.add(c("volume: empty body", "u1", "POST", vols, Map.of(), 400, "badRequest"));
        list.add(c("volume: created by a reader", "r1", "POST", vols, Map.of("volume", Map.of("size", 1)), 403, "forbidden"));
        list.add(c("volume: another project in the URL", "u1", "POST", "/volume/v3/{p2}/volumes", Map.of("volume", Map.of("size", 1)), 403, "forbidden"));
        list.add(c("volume: unknown id", "u1", "GET", vols + "/" + zero, null, 404, "itemNotFound"));
        list.add(c("volume: another project's", "u2", "GET", "/volume/v3/{p2}/volumes/{vol}", null, 404, "itemNotFound"));
        list.add(c("volume: delete unknown", "u1", "DELETE", vols + "/" + zero, null, 404, "itemNotFound"));
        list.add(c("volume: delete another project's", "u2", "DELETE", "/volume/v3/{p2}/volumes/{vol}", null, 404, "itemNotFound"));
        list.add(c("volume: delete with snapshots", "u1", "DELETE", vols + "/{snapvol}", null, 400, "badRequest"));
        list.add(c("volume: delete attached", "u1", "DELETE", vols + "/{held}", null, 400, "badRequest"));
        list.add(c("volume: force delete attached", "admin", "POST", vols + "/{held}/action", Map.of("os-force_delete", Map.of()), 400, "badRequest"));
        list.add(c("volume: force delete by a member", "u1", "POST", vols + "/{vol}/action", Map.of("os-force_delete", Map.of()), 403, "forbidden"));
        list.add(c("volume: extend to the same size", "u1", "POST", vols + "/{vol}/action", Map.of("os-extend", Map.of("new_size", 1)), 400, "badRequest"));
        list.add(c("volume: extend beyond quota", "u1", "POST", vols + "/{vol}/action", Map.of("os-extend", Map.of("new_size", 5000)), 413, "overLimit"));
        list.add(c("volume: extend without new_size", "u1", "POST", vols + "/{vol}/action", Map.of("os-extend", Map.of()), 400, "badRequest"));
        list.add(c("volume: extend attached", "u1", "POST", vols + "/{held}/action", Map.of("os-extend", Map.of("new_size", 2)), 400, "badRequest"));
        list.add(c("volume: extend another project's", "u2", "POST", "/volume/v3/{p2}/volumes/{vol}/action",
                Map.of("os-extend", Map.of("new_size", 2)), 404, "itemNotFound"));
        list.add(c("volume: unknown action", "u1", "POST", vols + "/{vol}/action", Map.of("os-nope", Map.of()), 400, "badRequest"));
        list.add(c("volume: two actions", "u1", "POST", vols + "/{vol}/action", Map.of("os-extend", Map.of("new_size", 2),
                "os-set_bootable", Map.of("bootable", true)), 400, "badRequest"));
        list.add(c("volume: attach through cinder", "u1", "POST", vols + "/{vol}/action", Map.of("os-attach", Map.of("instance_uuid", "{server}")),
                400, "badRequest"));
        list.add(c("volume: upload attached", "u1", "POST", vols + "/{held}/action", Map.of("os-volume_upload_image",
                Map.of("image_name", "x", "disk_format", "qcow2")), 400, "badRequest"));
        list.add(c("volume: name too long", "u1", "PUT", vols + "/{vol}", Map.of("volume", Map.of("name", "n".repeat(300))), 400, "badRequest"));
        list.add(c("volume: limit not a number", "u1", "GET", vols + "?limit=x", null, 400, "badRequest"));
        list.add(c("volume: unknown marker", "u1", "GET", vols + "/detail?marker=" + zero, null, 400, "badRequest"));
        list.add(c("volume: unknown metadata key", "u1", "DELETE", vols + "/{vol}/metadata/nope", null, 404, "itemNotFound"));
        list.add(c("snapshot: of an unknown volume", "u1", "POST", "/volume/v3/{p1}/snapshots", Map.of("snapshot", Map.of("volume_id", zero)),
                404, "itemNotFound"));
        list.add(c("snapshot: of an attached volume", "u1", "POST", "/volume/v3/{p1}/snapshots", Map.of("snapshot", Map.of("volume_id", "{held}")),
                400, "badRequest"));
        list.add(c("snapshot: without a volume", "u1", "POST", "/volume/v3/{p1}/snapshots", Map.of("snapshot", Map.of("name", "s")),
                400, "badRequest"));
        list.add(c("snapshot: unknown id", "u1", "GET", "/volume/v3/{p1}/snapshots/" + zero, null, 404, "itemNotFound"));
        list.add(c("snapshot: another project's", "u2", "GET", "/volume/v3/{p2}/snapshots/{snapshot}", null, 404, "itemNotFound"));
        list.add(c("snapshot: delete unknown", "u1", "DELETE", "/volume/v3/{p1}/snapshots/" + zero, null, 404, "itemNotFound"));
        list.add(c("snapshot: force delete by a member", "u1", "POST", "/volume/v3/{p1}/snapshots/{snapshot}/action",
                Map.of("os-force_delete", Map.of()), 403, "forbidden"));
        String bk = "/volume/v3/{p1}/backups";
        list.add(c("backup: of an unknown volume", "u1", "POST", bk, Map.of("backup", Map.of("volume_id", zero)), 404, "itemNotFound"));
        list.add(c("backup: of an attached volume without force", "u1", "POST", bk, Map.of("backup", Map.of("volume_id", "{held}")),
                400, "badRequest"));
        list.add(c("backup: without a volume", "u1", "POST", bk, Map.of("backup", Map.of("name", "b")), 400, "badRequest"));
        list.add(c("backup: incremental without a full one", "u1", "POST", bk,
                Map.of("backup", Map.of("volume_id", "{vol}", "incremental", true)), 400, "badRequest"));
        list.add(c("backup: incremental not a boolean", "u1", "POST", bk,
                Map.of("backup", Map.of("volume_id", "{vol}", "incremental", "maybe")), 400, "badRequest"));
        list.add(c("backup: of a snapshot", "u1", "POST", bk, Map.of("backup", Map.of("volume_id", "{vol}", "snapshot_id", zero)),
                400, "badRequest"));
        list.add(c("backup: another container", "u1", "POST", bk, Map.of("backup", Map.of("volume_id", "{vol}", "container", "c")),
                400, "badRequest"));
        list.add(c("backup: unknown key", "u1", "POST", bk, Map.of("backup", Map.of("volume_id", "{vol}", "colour", "red")),
                400, "badRequest"));
        list.add(c("backup: name too long", "u1", "POST", bk, Map.of("backup", Map.of("volume_id", "{vol}", "name", "n".repeat(300))),
                400, "badRequest"));
        list.add(c("backup: unknown id", "u1", "GET", bk + "/" + zero, null, 404, "itemNotFound"));
        list.add(c("backup: restore unknown", "u1", "POST", bk + "/" + zero + "/restore", Map.of("restore", Map.of()), 404, "itemNotFound"));
        list.add(c("backup: restore without a body", "u1", "POST", bk + "/" + zero + "/restore", Map.of("x", 1), 400, "badRequest"));
        list.add(c("backup: delete unknown", "u1", "DELETE", bk + "/" + zero, null, 404, "itemNotFound"));
        list.add(c("backup: force delete by a member", "u1", "POST", bk + "/" + zero + "/action", Map.of("os-force_delete", Map.of()),
                403, "forbidden"));
        list.add(c("backup: unknown action", "u1", "POST", bk + "/" + zero + "/action", Map.of("os-reset_status", Map.of()),
                404, "itemNotFound"));
        String sb = "/halcyon/v1/server-backups";
        list.add(c("server backup: unknown server", "u1", "POST", sb, Map.of("server_backup", Map.of("server_id", zero)), 404, "error"));
        list.add(c("server backup: another project's server", "u2", "POST", sb, Map.of("server_backup", Map.of("server_id", "{server}")),
                404, "error"));
        list.add(c("server backup: a server in error", "u1", "POST", sb, Map.of("server_backup", Map.of("server_id", "{server}",
                "force", true)), 409, "error"));
        list.add(c("server backup: without a server", "u1", "POST", sb, Map.of("server_backup", Map.of("name", "x")), 400, "error"));
        list.add(c("server backup: unknown key", "u1", "POST", sb, Map.of("server_backup", Map.of("server_id", "{server}", "volumes", 2)),
                400, "error"));
        list.add(c("server backup: force not a boolean", "u1", "POST", sb, Map.of("server_backup", Map.of("server_id", "{server}",
                "force", "maybe")), 400, "error"));
        list.add(c("server backup: unknown id", "u1", "GET", sb + "/" + zero, null, 404, "error"));
        list.add(c("server backup: delete unknown", "u1", "DELETE", sb + "/" + zero, null, 404, "error"));
        list.add(c("server backup: restore unknown", "u1", "POST", sb + "/" + zero + "/restore", null, 404, "error"));
        list.add(c("server backup: restore with an unknown key", "u1", "POST", sb + "/" + zero + "/restore",
                Map.of("restore", Map.of("volume_id", zero)), 400, "error"));
        list.add(c("server backup: every project's, by a member", "u1", "GET", sb + "?all_tenants=1", null, 403, "error"));
        String bp = "/halcyon/v1/backup-policies";
        list.add(c("backup policy: unknown volume", "u1", "POST", bp, Map.of("backup_policy", Map.of("volume_id", zero, "interval", "1d",
                "keep_last", 3)), 404, "error"));
        list.add(c("backup policy: another project's volume", "u2", "POST", bp, Map.of("backup_policy", Map.of("volume_id", "{vol}",
                "interval", "1d", "keep_last", 3)), 404, "error"));
        list.add(c("backup policy: keeps nothing", "u1", "POST", bp, Map.of("backup_policy", Map.of("volume_id", "{vol}", "interval", "1d")),
                400, "error"));
        list.add(c("backup policy: interval too short", "u1", "POST", bp, Map.of("backup_policy", Map.of("volume_id", "{vol}",
                "interval", "1m", "keep_last", 3)), 400, "error"));
        list.add(c("backup policy: interval not a duration", "u1", "POST", bp, Map.of("backup_policy", Map.of("volume_id", "{vol}",
                "interval", "daily", "keep_last", 3)), 400, "error"));
        list.add(c("backup policy: negative keep", "u1", "POST", bp, Map.of("backup_policy", Map.of("volume_id", "{vol}",
                "interval", "1d", "keep_last", -1)), 400, "error"));
        list.add(c("backup policy: full_every zero", "u1", "POST", bp, Map.of("backup_policy", Map.of("volume_id", "{vol}",
                "interval", "1d", "keep_last", 1, "full_every", 0)), 400, "error"));
        list.add(c("backup policy: unknown key", "u1", "POST", bp, Map.of("backup_policy", Map.of("volume_id", "{vol}",
                "interval", "1d", "keep_last", 1, "cron", "* * *")), 400, "error"));
        list.add(c("backup policy: without interval", "u1", "POST", bp, Map.of("backup_policy", Map.of("keep_last", 1)), 400, "error"));
        list.add(c("backup policy: unknown id", "u1", "GET", bp + "/" + zero, null, 404, "error"));
        list.add(c("backup policy: run unknown", "u1", "POST", bp + "/" + zero + "/run", null, 404, "error"));
        list.add(c("backup policy: delete unknown", "u1", "DELETE", bp + "/" + zero, null, 404, "error"));
        list.add(c("volume type: unknown", "u1", "GET", "/volume/v3/{p1}/types/gold", null, 404, "itemNotFound"));
        list.add(c("volume quota: set by a member", "u1", "PUT", "/volume/v3/{p1}/os-quota-sets/{p1}",
                Map.of("quota_set", Map.of("volumes", 100)), 403, "forbidden"));
        list.add(c("volume quota: negative", "admin", "PUT", "/volume/v3/{p1}/os-quota-sets/{p1}",
                Map.of("quota_set", Map.of("volumes", -5)), 400, "badRequest"));
        String atts = "/compute/v2.1/servers/{server}/os-volume_attachments";
        list.add(c("attach: unknown server", "u1", "POST", "/compute/v2.1/servers/" + zero + "/os-volume_attachments",
                Map.of("volumeAttachment", Map.of("volumeId", "{vol}")), 404, "itemNotFound"));
        list.add(c("attach: a server of another project", "u1", "POST", "/compute/v2.1/servers/{server2}/os-volume_attachments",
                Map.of("volumeAttachment", Map.of("volumeId", "{vol}")), 404, "itemNotFound"));
        list.add(c("attach: no volumeId", "u1", "POST", atts, Map.of("volumeAttachment", Map.of("device", "/dev/vdb")), 400, "badRequest"));
        list.add(c("attach: unknown field", "u1", "POST", atts, Map.of("volumeAttachment", Map.of("volumeId", "{vol}", "x", 1)), 400, "badRequest"));
        list.add(c("attach: a server in error", "u1", "POST", atts, Map.of("volumeAttachment", Map.of("volumeId", "{vol}")), 409, "conflictingRequest"));
        list.add(c("attach: by a reader", "r1", "POST", atts, Map.of("volumeAttachment", Map.of("volumeId", "{vol}")), 403, "forbidden"));
        list.add(c("detach: not attached", "u1", "DELETE", atts + "/{vol}", null, 404, "itemNotFound"));
        list.add(c("detach: unknown server", "u1", "DELETE", "/compute/v2.1/servers/" + zero + "/os-volume_attachments/{vol}", null, 404,
                "itemNotFound"));
        list.add(c("attachment: show not attached", "u1", "GET", atts + "/{vol}", null, 404, "itemNotFound"));
        list.add(c("server: boot from an unknown volume", "u1", "POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "b",
                "flavorRef", "1", "block_device_mapping_v2", List.of(Map.of("uuid", zero, "source_type", "volume",
                        "destination_type", "volume", "boot_index", 0)))), 400, "badRequest"));
        list.add(c("server: boot from an attached volume", "u1", "POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "b",
                "flavorRef", "1", "block_device_mapping_v2", List.of(Map.of("uuid", "{held}", "source_type", "volume",
                        "destination_type", "volume", "boot_index", 0)))), 400, "badRequest"));
        list.add(c("server: boot volume of size 0", "u1", "POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "b",
                "flavorRef", "1", "block_device_mapping_v2", List.of(Map.of("uuid", "{image}", "source_type", "image",
                        "destination_type", "volume", "boot_index", 0, "volume_size", 0)))), 400, "badRequest"));
        list.add(c("server: bad source_type", "u1", "POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "b",
                "flavorRef", "1", "block_device_mapping_v2", List.of(Map.of("uuid", "{vol}", "source_type", "tape",
                        "destination_type", "volume", "boot_index", 0)))), 400, "badRequest"));
        list.addAll(NetworkBadInputCases.cases());
        list.addAll(HaBadInputCases.cases());
        // agent API
        list.add(c("agent: no agent token", "none", "GET", "/agent/v1/hosts/h1/assignments", null, 401, "error"));
        list.add(c("agent: user token is not an agent token", "admin", "POST", "/agent/v1/hosts/h1/register", Map.of("name", "h1"), 401, "error"));
        list.add(c("agent: bad host name", "agent", "POST", "/agent/v1/hosts/bad!name/register", Map.of("name", "bad!name", "cpus", 1, "ramMb", 1), 400, "error"));
        list.add(c("agent: malformed registration", "agent", "POST", "/agent/v1/hosts/h1/register", "{", 400, "error"));
        list.add(c("agent: registration without resources", "agent", "POST", "/agent/v1/hosts/h1/register", Map.of("name", "h1"), 400, "error"));
        list.add(c("agent: backup outcome without ok", "agent", "POST", "/agent/v1/hosts/h1/backups/" + zero, Map.of("error", "x"), 400, "error"));
        list.add(c("agent: backup outcome from a bad host name", "agent", "POST", "/agent/v1/hosts/bad!name/backups/" + zero,
                Map.of("ok", true), 400, "error"));
        list.add(c("agent: heartbeat without lease", "agent", "POST", "/agent/v1/hosts/h1/heartbeat", Map.of("x", 1), 400, "error"));
        list.add(c("agent: heartbeat of an unknown lease", "agent", "POST", "/agent/v1/hosts/h1/heartbeat", Map.of("leaseId", 12345), 404, "error"));
        list.add(c("agent: malformed reports", "agent", "POST", "/agent/v1/hosts/h1/reports", "{\"not\":\"a list\"}", 400, "error"));
        list.add(c("agent: unknown image", "agent", "GET", "/agent/v1/images/nope", null, 404, "error"));
        return list.stream();
    }

    static String expand(String s) {
        for (var e : vars.entrySet()) {
            s = s.replace("{" + e.getKey() + "}", e.getValue());
        }
        return s;
    }

    static Object expandBody(Object body) throws Exception {
        if (body == null || body instanceof byte[]) {
            return body;
        }
        String json = body instanceof String s ? s : Http.JSON.writeValueAsString(body);
        return expand(json);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void badInputGetsAClearErrorAndChangesNothing(Case c) throws Exception {
        var headers = new HashMap<>(c.headers());
        switch (c.who()) {
            case "none" -> { }
            case "garbage" -> headers.put("X-Auth-Token", "garbage");
            case "forged" -> {
                String t = tokens.get("u1");
                headers.put("X-Auth-Token", t.substring(0, t.length() - 4) + (t.endsWith("AAAA") ? "BBBB" : "AAAA"));
            }
            case "agent" -> headers.put("X-Halcyon-Agent-Token", TestController.AGENT_TOKEN);
            default -> headers.put("X-Auth-Token", tokens.get(c.who()));
        }
        controller.resources().sync();
        long before = controller.resources().store().revision();
        Http.Res r = (c.path().startsWith("/agent/") ? agentHttp : http).call(c.method(), expand(c.path()), expandBody(c.body()), headers);
        assertThat(r.status()).as("%s: %s", c.name(), r.body()).isEqualTo(c.status());
        assertThat(r.json()).as("%s: fault body %s", c.name(), r.body()).isNotNull();
        assertThat(r.json().has(c.faultKey())).as("%s: fault key %s in %s", c.name(), c.faultKey(), r.body()).isTrue();
        String message = r.json().path(c.faultKey()).path("message").asText();
        assertThat(message).as("%s: message", c.name()).isNotBlank().doesNotContain("Exception").doesNotContain("\tat ");
        controller.resources().sync();
        assertThat(controller.resources().store().revision()).as("%s changed the store", c.name()).isEqualTo(before);
    }

    @Test
    void theAgentApiIsOnlyOnTheAgentsListener() {
        var agent = Map.of("X-Halcyon-Agent-Token", TestController.AGENT_TOKEN);
        assertThat(http.call("GET", "/agent/v1/images/nope", null, agent).status()).isEqualTo(404);
        assertThat(agentHttp.call("GET", "/agent/v1/images/nope", null, agent).status()).isEqualTo(404);
        assertThat(agentHttp.call("GET", "/agent/v1/images/nope", null, Map.of()).status()).isEqualTo(401);
        // and the public API is not there
        assertThat(agentHttp.call("GET", "/compute/v2.1/servers", null, Map.of("X-Auth-Token", tokens.get("admin"))).status()).isEqualTo(404);
    }

    @Test
    void aFailedUploadLeavesTheImageQueuedAndEmpty() {
        String t = tokens.get("u1");
        var headers = Map.of("X-Auth-Token", t, "Content-Type", "application/octet-stream");
        // declared qcow2, but the data is not a qcow2
        var r = http.call("PUT", "/image/v2/images/" + vars.get("queued") + "/file", new byte[8192], headers);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().path("error").path("message").asText()).contains("not in qcow2 format");
        // a qcow2 header naming a backing file
        byte[] evil = new byte[512];
        var b = java.nio.ByteBuffer.wrap(evil);
        b.putInt(0, 0x514649fb).putInt(4, 3).putLong(8, 0x200).putInt(16, 10).putLong(24, 1L << 30);
        r = http.call("PUT", "/image/v2/images/" + vars.get("queued") + "/file", evil, headers);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().path("error").path("message").asText()).contains("backing file");
        var img = http.call("GET", "/image/v2/images/" + vars.get("queued"), null, Map.of("X-Auth-Token", t)).json();
        assertThat(img.path("status").asText()).isEqualTo("queued");
        assertThat(img.path("size").isNull()).isTrue();
        assertThat(dir.resolve("images").resolve(vars.get("queued"))).doesNotExist();
    }
}
