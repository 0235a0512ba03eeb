package io.halcyon.controller;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Keystone behaviour users rely on: revocation on disable and role removal, rescoping, token validation. */
class IdentityFlowTest {
    @TempDir
    static Path dir;
    static ControllerMain controller;
    static Http http;
    static Map<String, String> admin;

    @BeforeAll
    static void start() throws Exception {
        controller = TestController.start(dir, "");
        http = new Http("http://127.0.0.1:" + controller.port());
        admin = Http.token(http.login("admin", TestController.ADMIN_PASSWORD, "admin"));
    }

    @AfterAll
    static void stop() {
        controller.close();
    }

    static String id(Http.Res r, String kind) {
        assertThat(r.status()).as(r.body()).isIn(200, 201);
        return r.json().path(kind).path("id").asText();
    }

    String setupUser(String project, String user) {
        String p = id(http.call("POST", "/identity/v3/projects", Map.of("project", Map.of("name", project)), admin), "project");
        String u = id(http.call("POST", "/identity/v3/users", Map.of("user", Map.of("name", user, "password", "pw-" + user,
                "default_project_id", p)), admin), "user");
        String member = http.call("GET", "/identity/v3/roles?name=member", null, admin).json().path("roles").get(0).path("id").asText();
        assertThat(http.call("PUT", "/identity/v3/projects/" + p + "/users/" + u + "/roles/" + member, null, admin).status()).isEqualTo(204);
        return p + "/" + u + "/" + member;
    }

    int servers(String token) {
        return http.call("GET", "/compute/v2.1/servers", null, Http.token(token)).status();
    }

    @Test
    void disablingAUserRevokesItsTokensAndStopsNewOnes() {
        String[] ids = setupUser("pa", "ua").split("/");
        String token = http.login("ua", "pw-ua", "pa");
        assertThat(servers(token)).isEqualTo(200);
        assertThat(http.call("PATCH", "/identity/v3/users/" + ids[1], Map.of("user", Map.of("enabled", false)), admin).status()).isEqualTo(200);
        assertThat(servers(token)).isEqualTo(401);
        var again = http.call("POST", "/identity/v3/auth/tokens", Map.of("auth", Map.of("identity", Map.of("methods", java.util.List.of("password"),
                "password", Map.of("user", Map.of("name", "ua", "domain", Map.of("id", "default"), "password", "pw-ua"))))), Map.of());
        assertThat(again.status()).isEqualTo(401);
        http.call("PATCH", "/identity/v3/users/" + ids[1], Map.of("user", Map.of("enabled", true)), admin);
        assertThat(servers(http.login("ua", "pw-ua", "pa"))).isEqualTo(200);
        assertThat(servers(token)).as("an old token stays revoked").isEqualTo(401);
    }

    @Test
    void disablingAProjectAndRemovingARoleRevokeTokens() {
        String[] ids = setupUser("pb", "ub").split("/");
        String token = http.login("ub", "pw-ub", "pb");
        http.call("PATCH", "/identity/v3/projects/" + ids[0], Map.of("project", Map.of("enabled", false)), admin);
        assertThat(servers(token)).isEqualTo(401);
        http.call("PATCH", "/identity/v3/projects/" + ids[0], Map.of("project", Map.of("enabled", true)), admin);
        String fresh = http.login("ub", "pw-ub", "pb");
        assertThat(servers(fresh)).isEqualTo(200);
        assertThat(http.call("DELETE", "/identity/v3/projects/" + ids[0] + "/users/" + ids[1] + "/roles/" + ids[2], null, admin).status())
                .isEqualTo(204);
        assertThat(servers(fresh)).isEqualTo(401);
    }

    @Test
    void passwordChangeRevokesAndTheNewPasswordWorks() {
        String[] ids = setupUser("pc", "uc").split("/");
        String token = http.login("uc", "pw-uc", "pc");
        var r = http.call("POST", "/identity/v3/users/" + ids[1] + "/password",
                Map.of("user", Map.of("original_password", "pw-uc", "password", "new-pw-uc")), Http.token(token));
        assertThat(r.status()).isEqualTo(204);
        assertThat(servers(token)).isEqualTo(401);
        assertThat(servers(http.login("uc", "new-pw-uc", "pc"))).isEqualTo(200);
    }

    @Test
    void tokensValidateRevokeAndRescope() {
        setupUser("pd", "ud");
        String token = http.login("ud", "pw-ud", "pd");
        var h = Http.token(token);
        h.put("X-Subject-Token", token);
        var v = http.call("GET", "/identity/v3/auth/tokens", null, h);
        assertThat(v.status()).isEqualTo(200);
        assertThat(v.json().path("token").path("project").path("name").asText()).isEqualTo("pd");
        assertThat(v.json().path("token").path("catalog").isArray()).isTrue();
        // rescoping with the token method keeps the user and the expiry
        var rescoped = http.call("POST", "/identity/v3/auth/tokens", Map.of("auth", Map.of("identity", Map.of("methods", java.util.List.of("token"),
                "token", Map.of("id", token)), "scope", Map.of("project", Map.of("name", "pd", "domain", Map.of("id", "default"))))), Map.of());
        assertThat(rescoped.status()).isEqualTo(201);
        assertThat(rescoped.json().path("token").path("expires_at").asText()).isEqualTo(v.json().path("token").path("expires_at").asText());
        assertThat(http.call("DELETE", "/identity/v3/auth/tokens", null, h).status()).isEqualTo(204);
        assertThat(servers(token)).isEqualTo(401);
        // a user sees their own projects, not everyone's
        String other = http.login("ud", "pw-ud", "pd");
        var mine = http.call("GET", "/identity/v3/auth/projects", null, Http.token(other));
        assertThat(mine.json().path("projects")).hasSize(1);
    }
}
