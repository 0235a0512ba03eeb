package io.halcyon.it;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** User data reaches the guest on a config drive and runs; its output shows in the console log through the API. */
class UserDataIT {
    @Test
    void userDataRunsInTheGuest() throws Exception {
        try (var cloud = TestCloud.start("")) {
            cloud.agentInProcess("h1", "");
            await().atMost(Duration.ofSeconds(60)).until(() -> cloud.controller.resources().hostUp("h1"));
            ApiClient api = cloud.admin();
            String script = "#!/bin/sh\necho hello from $(hostname)\necho meta=$(cat /mnt/config/openstack/latest/meta_data.json | grep -c uuid)\n";
            var r = api.post("/compute/v2.1/servers", Map.of("server", Map.of("name", "Web_1", "flavorRef", "1",
                    "imageRef", api.imageId("tiny"), "user_data", Base64.getEncoder().encodeToString(script.getBytes(StandardCharsets.UTF_8)))));
            assertThat(r.status()).isEqualTo(202);
            String id = r.body().path("server").path("id").asText();
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                var out = api.post("/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of("length", 50)));
                return out.status() == 200 && out.body().path("output").asText().contains("halcyon-guest: user-data exit=0");
            });
            String console = api.post("/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of())).body()
                    .path("output").asText();
            assertThat(console).contains("halcyon-guest: ready").contains("user-data: hello from web-1").contains("user-data: meta=1");
            String tail = api.post("/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of("length", 1))).body()
                    .path("output").asText();
            assertThat(tail.lines().count()).isEqualTo(1);
            assertThat(api.delete("/compute/v2.1/servers/" + id).status()).isEqualTo(204);
            await().atMost(Duration.ofSeconds(60)).until(() -> api.server(id) == null);
        }
    }
}
