package io.halcyon.controller;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.config.Sealer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The store holds no secret in clear: a copy of the database (or an etcd dump) without the secret
 * key file gives no token signing key, so no admin token can be forged from it; and a store whose
 * keys an older release kept in clear gets a new sealed key at start, the old one gone.
 */
class StoreSecretsTest {
    @TempDir
    Path dir;

    @Test
    void aCopiedDatabaseGivesNoKeyToSignTokensWith() throws Exception {
        String token;
        try (var controller = TestController.start(dir, "")) {
            token = new Http("http://127.0.0.1:" + controller.port()).login("admin", TestController.ADMIN_PASSWORD, "admin");
        }
        Path copy = dir.resolve("copy.db");
        Files.copy(dir.resolve("halcyon.db"), copy);
        List<JsonNode> keys = tokenKeys(copy);
        assertThat(keys).isNotEmpty();
        var sealer = Sealer.fromFile(dir.resolve("secret.key"));
        byte[] everything = Files.readAllBytes(dir.resolve("halcyon.db"));
        for (JsonNode k : keys) {
            String stored = k.path("secret").asText();
            assertThat(Sealer.isSealed(stored)).as("stored sealed: %s", stored).isTrue();
            String secret = sealer.open("token-key:" + k.path("id").asText(), stored);
            assertThat(new String(everything, StandardCharsets.ISO_8859_1)).doesNotContain(secret);
        }
        // what an attacker can do with the copy: sign an admin token with what the store holds
        String[] parts = token.split("\\.");
        String forged = parts[0] + "." + parts[1] + "." + parts[2] + "." + hmac(keys.get(0).path("secret").asText().getBytes(StandardCharsets.UTF_8),
                parts[0] + "." + parts[1] + "." + parts[2]);
        try (var controller = TestController.start(dir, "")) {
            var http = new Http("http://127.0.0.1:" + controller.port());
            assertThat(http.call("GET", "/identity/v3/users", null, Map.of("X-Auth-Token", token)).status()).isEqualTo(200);
            assertThat(http.call("GET", "/identity/v3/users", null, Map.of("X-Auth-Token", forged)).status()).isEqualTo(401);
        }
    }

    @Test
    void keysAnOlderReleaseKeptInClearAreReplacedAtStart() throws Exception {
        String token;
        try (var controller = TestController.start(dir, "")) {
            token = new Http("http://127.0.0.1:" + controller.port()).login("admin", TestController.ADMIN_PASSWORD, "admin");
            // what an older release wrote: the key in clear
            var clear = new io.halcyon.model.identity.TokenKey("0ldclear", Base64.getEncoder().encodeToString(new byte[32]),
                    java.time.Instant.now().plusSeconds(3600));
            controller.resources().store().txn(io.halcyon.store.Txn.builder()
                    .onSuccess(controller.resources().repo(io.halcyon.runtime.Kinds.TOKEN_KEYS).put(clear)).build());
        }
        try (var controller = TestController.start(dir, "")) {
            var http = new Http("http://127.0.0.1:" + controller.port());
            assertThat(controller.resources().tokenKeys().get("0ldclear")).isEmpty();
            assertThat(controller.resources().tokenKeys().list()).allMatch(v -> Sealer.isSealed(v.value().secret()));
            assertThat(http.call("GET", "/identity/v3/users", null, Map.of("X-Auth-Token", token)).status()).isEqualTo(200);
        }
    }

    static List<JsonNode> tokenKeys(Path db) throws Exception {
        var out = new ArrayList<JsonNode>();
        try (var c = DriverManager.getConnection("jdbc:sqlite:" + db); var st = c.createStatement();
             var rs = st.executeQuery("SELECT key, value FROM kv")) {
            while (rs.next()) {
                if (new String(rs.getBytes(1), StandardCharsets.UTF_8).contains("token-keys")) {
                    out.add(Http.JSON.readTree(rs.getBytes(2)));
                }
            }
        }
        return out;
    }

    static String hmac(byte[] key, String data) throws Exception {
        var mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(data.getBytes(StandardCharsets.US_ASCII)));
    }
}
