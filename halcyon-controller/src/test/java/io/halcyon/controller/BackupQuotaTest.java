package io.halcyon.controller;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Cinder's backup quotas: {@code backups} (how many) and {@code backup_gigabytes} (each backup
 * counts its volume's size), shown in use and enforced with Cinder's 413, changing nothing.
 */
class BackupQuotaTest {
    @TempDir
    Path dir;

    @Test
    void backupsPastTheProjectsQuotasAreRefused() throws Exception {
        try (var controller = TestController.start(dir, "")) {
            var http = new Http("http://127.0.0.1:" + controller.port());
            var h = Http.token(http.login("admin", TestController.ADMIN_PASSWORD, "admin"));
            String project = http.call("GET", "/identity/v3/projects?name=admin", null, h).json().path("projects").get(0).path("id").asText();
            String base = "/volume/v3/" + project;
            String a = volume(http, h, base, "a");
            String b = volume(http, h, base, "b");
            assertThat(http.call("PUT", base + "/os-quota-sets/" + project, Map.of("quota_set", Map.of("backups", 1)), h).status()).isEqualTo(200);

            var first = http.call("POST", base + "/backups", Map.of("backup", Map.of("volume_id", a)), h);
            assertThat(first.status()).as(first.body()).isEqualTo(202);
            var usage = http.call("GET", base + "/os-quota-sets/" + project + "?usage=true", null, h).json().path("quota_set");
            assertThat(usage.path("backups").path("in_use").asInt()).isEqualTo(1);
            assertThat(usage.path("backup_gigabytes").path("in_use").asInt()).isEqualTo(1);

            controller.resources().sync();
            long before = controller.resources().store().revision();
            var second = http.call("POST", base + "/backups", Map.of("backup", Map.of("volume_id", b)), h);
            assertThat(second.status()).as(second.body()).isEqualTo(413);
            assertThat(second.json().path("overLimit").path("message").asText())
                    .isEqualTo("BackupLimitExceeded: Maximum number of backups allowed (1) exceeded");
            controller.resources().sync();
            assertThat(controller.resources().store().revision()).isEqualTo(before);

            // the quota cannot go below what is in use
            assertThat(http.call("PUT", base + "/os-quota-sets/" + project, Map.of("quota_set", Map.of("backups", 0)), h).status()).isEqualTo(400);

            assertThat(http.call("PUT", base + "/os-quota-sets/" + project, Map.of("quota_set", Map.of("backups", 10, "backup_gigabytes", 1)), h)
                    .status()).isEqualTo(200);
            var big = http.call("POST", base + "/backups", Map.of("backup", Map.of("volume_id", b)), h);
            assertThat(big.status()).as(big.body()).isEqualTo(413);
            assertThat(big.json().path("overLimit").path("message").asText()).startsWith("VolumeBackupSizeExceedsAvailableQuota: ")
                    .contains("Requested 1G, quota is 1G and 1G has been consumed.");
        }
    }

    private static String volume(Http http, Map<String, String> h, String base, String name) {
        var v = http.call("POST", base + "/volumes", Map.of("volume", Map.of("size", 1, "name", name)), h);
        assertThat(v.status()).as(v.body()).isEqualTo(202);
        String id = v.json().path("volume").path("id").asText();
        await().atMost(Duration.ofSeconds(30)).until(() -> "available".equals(http.call("GET", base + "/volumes/" + id, null, h).json()
                .path("volume").path("status").asText()));
        return id;
    }
}
