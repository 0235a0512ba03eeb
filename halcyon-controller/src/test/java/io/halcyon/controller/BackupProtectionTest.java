package io.halcyon.controller;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A backup policy prunes only the backups it took: a manual backup taken before it and a
 * protected one stay, and a protected backup is refused deletion until it is unprotected.
 */
class BackupProtectionTest {
    @TempDir
    Path dir;

    @Test
    void aPolicyPrunesOnlyItsOwnBackupsAndProtectedBackupsCannotBeDeleted() throws Exception {
        try (var controller = TestController.start(dir, "")) {
            var http = new Http("http://127.0.0.1:" + controller.port());
            var h = Http.token(http.login("admin", TestController.ADMIN_PASSWORD, "admin"));
            String project = http.call("GET", "/identity/v3/projects?name=admin", null, h).json().path("projects").get(0).path("id").asText();
            String base = "/volume/v3/" + project;
            var v = http.call("POST", base + "/volumes", Map.of("volume", Map.of("size", 1, "name", "data")), h);
            String volume = v.json().path("volume").path("id").asText();
            awaitStatus(http, h, base + "/volumes/" + volume, "volume", "available");

            String manual = backup(http, h, base, Map.of("volume_id", volume, "name", "manual"));
            String kept = backup(http, h, base, Map.of("volume_id", volume, "name", "kept", "halcyon:protected", true));
            assertThat(http.call("GET", base + "/backups/" + kept, null, h).json().path("backup").path("halcyon:protected").asBoolean()).isTrue();

            var p = http.call("POST", "/halcyon/v1/backup-policies", Map.of("backup_policy", Map.of("volume_id", volume, "interval", "1d",
                    "keep_last", 1)), h);
            assertThat(p.status()).as(p.body()).isEqualTo(201);
            String policy = p.json().path("backup_policy").path("id").asText();
            String first = awaitPolicyBackup(http, h, base, policy, null);
            assertThat(http.call("POST", "/halcyon/v1/backup-policies/" + policy + "/run", null, h).status()).isEqualTo(202);
            String second = awaitPolicyBackup(http, h, base, policy, first);
            // the retention keeps one of its own: the first goes, the manual and the protected backups stay
            await().atMost(Duration.ofSeconds(60)).until(() -> http.call("GET", base + "/backups/" + first, null, h).status() == 404);
            for (String id : new String[] {manual, kept, second}) {
                assertThat(http.call("GET", base + "/backups/" + id, null, h).json().path("backup").path("status").asText()).isEqualTo("available");
            }

            // a protected backup (of another volume, so nothing depends on it) is refused deletion, forced or not
            var v2 = http.call("POST", base + "/volumes", Map.of("volume", Map.of("size", 1, "name", "other")), h);
            String volume2 = v2.json().path("volume").path("id").asText();
            awaitStatus(http, h, base + "/volumes/" + volume2, "volume", "available");
            String locked = backup(http, h, base, Map.of("volume_id", volume2, "name", "locked"));
            var protect = http.call("PUT", base + "/backups/" + locked, Map.of("backup", Map.of("halcyon:protected", true)), h);
            assertThat(protect.status()).as(protect.body()).isEqualTo(200);
            controller.resources().sync();
            long before = controller.resources().store().revision();
            var refused = http.call("DELETE", base + "/backups/" + locked, null, h);
            assertThat(refused.status()).as(refused.body()).isEqualTo(400);
            assertThat(refused.json().path("badRequest").path("message").asText()).contains("is protected");
            var forced = http.call("POST", base + "/backups/" + locked + "/action", Map.of("os-force_delete", Map.of()), h);
            assertThat(forced.status()).as(forced.body()).isEqualTo(400);
            controller.resources().sync();
            assertThat(controller.resources().store().revision()).isEqualTo(before);

            var unprotect = http.call("PUT", base + "/backups/" + locked, Map.of("backup", Map.of("halcyon:protected", false)), h);
            assertThat(unprotect.status()).as(unprotect.body()).isEqualTo(200);
            assertThat(unprotect.json().path("backup").path("halcyon:protected").asBoolean()).isFalse();
            assertThat(http.call("DELETE", base + "/backups/" + locked, null, h).status()).isEqualTo(202);
        }
    }

    private static String backup(Http http, Map<String, String> h, String base, Map<String, Object> fields) {
        var r = http.call("POST", base + "/backups", Map.of("backup", new HashMap<>(fields)), h);
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        String id = r.json().path("backup").path("id").asText();
        awaitStatus(http, h, base + "/backups/" + id, "backup", "available");
        return id;
    }

    /** The id of an available backup the policy took, other than {@code not}. */
    private static String awaitPolicyBackup(Http http, Map<String, String> h, String base, String policy, String not) {
        String[] found = new String[1];
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            for (JsonNode b : http.call("GET", base + "/backups/detail", null, h).json().path("backups")) {
                if (policy.equals(b.path("halcyon:policy_id").asText()) && !b.path("id").asText().equals(not)
                        && "available".equals(b.path("status").asText())) {
                    found[0] = b.path("id").asText();
                    return true;
                }
            }
            return false;
        });
        return found[0];
    }

    private static void awaitStatus(Http http, Map<String, String> h, String path, String key, String status) {
        await().atMost(Duration.ofSeconds(60)).until(() -> status.equals(http.call("GET", path, null, h).json().path(key).path("status").asText()));
    }
}
