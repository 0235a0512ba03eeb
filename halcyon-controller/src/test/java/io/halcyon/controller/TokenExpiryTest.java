package io.halcyon.controller;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** An expired token gets 401 on every API, with Keystone's challenge header. */
class TokenExpiryTest {
    @TempDir
    Path dir;

    @Test
    void expiredTokensAreRefused() throws Exception {
        try (var controller = TestController.start(dir, "  tokenLifetime: 2s\n")) {
            var http = new Http("http://127.0.0.1:" + controller.port());
            String token = http.login("admin", TestController.ADMIN_PASSWORD, "admin");
            assertThat(http.call("GET", "/compute/v2.1/servers", null, Http.token(token)).status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> http.call("GET", "/compute/v2.1/servers", null, Http.token(token)).status() == 401);
            var r = http.call("GET", "/image/v2/images", null, Http.token(token));
            assertThat(r.status()).isEqualTo(401);
            assertThat(r.json().path("error").path("message").asText()).isEqualTo("The token has expired.");
            assertThat(r.raw().headers().firstValue("WWW-Authenticate").orElse("")).startsWith("Keystone uri=");
            var id = http.call("GET", "/identity/v3/projects", null, Map.of("X-Auth-Token", token));
            assertThat(id.status()).isEqualTo(401);
        }
    }
}
