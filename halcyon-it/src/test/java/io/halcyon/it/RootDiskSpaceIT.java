package io.halcyon.it;

import io.halcyon.testkit.Command;
import io.halcyon.testkit.GuestProcesses;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * 50 real guests from the same image: the image's base is stored once, and each server adds only
 * its copy-on-write overlay (measured on disk, printed), not a copy of the image.
 */
class RootDiskSpaceIT {
    private static final long MIB = 1 << 20;

    @Test
    void fiftyServersFromOneImageAddOnlyTheirOverlays() throws Exception {
        try (var cloud = TestCloud.start("  quotas: {instances: 60, cores: 100, ram: 100000}\n  scheduler: {cpuAllocationRatio: 32}\n")) {
            cloud.agentInProcess("h1", "");
            await().atMost(Duration.ofSeconds(60)).until(() -> cloud.hostUp("h1"));
            ApiClient api = cloud.admin();
            String image = api.imageId("tiny");
            long imageBytes = api.get("/image/v2/images/" + image).body().path("size").asLong();
            Path storage = StorageFiles.root(cloud.dir);

            var ids = new ArrayList<String>();
            ids.add(api.createServer("first", "1", image));
            await().atMost(Duration.ofSeconds(120)).until(() -> AgentRestartIT.allActive(api, ids));
            long withBase = StorageFiles.bytesUsed(storage);
            for (int i = 1; i < 50; i++) {
                ids.add(api.createServer("vm" + i, "1", image));
            }
            await().atMost(Duration.ofSeconds(300)).pollInterval(Duration.ofSeconds(1)).until(() -> AgentRestartIT.allActive(api, ids));
            long after = StorageFiles.bytesUsed(storage);
            long overlays = StorageFiles.bytesUsed(storage.resolve("servers"));
            long base = StorageFiles.bytesUsed(storage.resolve("images"));
            System.out.printf("RootDiskSpaceIT: image %.1f MiB; base on storage %.1f MiB (once); 49 more servers grew storage by %.2f MiB;"
                            + " 50 overlays %.2f MiB (%.0f KiB each); 50 full copies would take %.0f MiB%n", imageBytes / (double) MIB,
                    base / (double) MIB, (after - withBase) / (double) MIB, overlays / (double) MIB, overlays / 50.0 / 1024,
                    50.0 * imageBytes / MIB);

            assertThat(StorageFiles.ids(cloud.dir, "images")).hasSize(1);
            assertThat(StorageFiles.ids(cloud.dir, "servers")).hasSize(50).containsAll(ids);
            // growth is the 49 new overlays and nothing else
            assertThat(after - withBase).isLessThanOrEqualTo(overlays);
            // an overlay is a small fraction of the image it stands on
            assertThat(overlays / 50).isLessThan(imageBytes / 8);
            var info = Command.run(List.of("qemu-img", "info", "-U", storage.resolve("servers").resolve(ids.get(7) + ".qcow2").toString()),
                    Map.of(), Duration.ofSeconds(30));
            assertThat(info.stdout()).contains("backing file: ../images/" + image + ".qcow2");

            for (String id : ids) {
                assertThat(api.delete("/compute/v2.1/servers/" + id).status()).isEqualTo(204);
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> StorageFiles.ids(cloud.dir, "servers").isEmpty());
            await().atMost(Duration.ofSeconds(60)).until(() -> GuestProcesses.all(cloud.dir.resolve("agent-h1")).isEmpty());
            assertThat(Files.exists(storage.resolve("images").resolve(image + ".qcow2"))).as("the base stays for the next server").isTrue();
        }
    }
}
