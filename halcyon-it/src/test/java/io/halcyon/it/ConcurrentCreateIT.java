package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.runtime.Versioned;
import io.halcyon.testkit.GuestProcesses;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * 20 concurrent creates on a host that fits exactly 10 m1.tiny guests (its reserved RAM leaves
 * 1280 MB): exactly 10 become ACTIVE (real QEMU guests), 10 go to ERROR with Nova's fault, and
 * the host's claims never exceed its capacity at any sampled moment.
 */
class ConcurrentCreateIT {
    @Test
    void claimsNeverOvercommitAHost() throws Exception {
        int ramMb = hostRamMb();
        int capacityMb = 10 * 128;
        try (var cloud = TestCloud.start("  quotas: {instances: 50, cores: 100, ram: 100000}\n")) {
            cloud.agentInProcess("h1", "  reservedRamMb: " + (ramMb - capacityMb) + "\n");
            await().atMost(Duration.ofSeconds(60)).until(() -> cloud.controller.resources().hostUp("h1"));
            ApiClient api = cloud.admin();
            String image = api.imageId("tiny");

            var overcommit = new ConcurrentLinkedQueue<String>();
            var sampling = new AtomicBoolean(true);
            var sampler = new Thread(() -> {
                while (sampling.get()) {
                    cloud.controller.resources().allocations().get("h1").map(Versioned::value).ifPresent(a -> check(a, capacityMb, overcommit));
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "allocation-sampler");
            sampler.start();

            var pool = Executors.newFixedThreadPool(20);
            var go = new CountDownLatch(1);
            var futures = new ArrayList<Future<String>>();
            for (int i = 0; i < 20; i++) {
                String name = "c" + i;
                futures.add(pool.submit(() -> {
                    go.await();
                    return api.createServer(name, "1", image);
                }));
            }
            go.countDown();
            var ids = new ArrayList<String>();
            for (Future<String> f : futures) {
                ids.add(f.get(60, TimeUnit.SECONDS));
            }
            pool.shutdown();

            await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(500)).until(() -> settled(api, ids));
            sampling.set(false);
            sampler.join();

            var active = new ArrayList<String>();
            var error = new ArrayList<JsonNode>();
            for (String id : ids) {
                JsonNode s = api.server(id);
                if ("ACTIVE".equals(s.path("status").asText())) {
                    active.add(id);
                } else {
                    error.add(s);
                }
            }
            assertThat(overcommit).as("claims above capacity").isEmpty();
            assertThat(active).hasSize(10);
            assertThat(error).hasSize(10).allSatisfy(s -> {
                assertThat(s.path("status").asText()).isEqualTo("ERROR");
                assertThat(s.path("fault").path("message").asText()).isEqualTo("No valid host was found. There are not enough hosts available.");
                assertThat(s.path("fault").path("code").asInt()).isEqualTo(500);
            });
            HostAllocation alloc = cloud.controller.resources().allocations().get("h1").orElseThrow().value();
            assertThat(alloc.claims().keySet()).containsExactlyInAnyOrderElementsOf(active);
            Path agentDir = cloud.dir.resolve("agent-h1");
            assertThat(GuestProcesses.all(agentDir)).hasSize(10);

            for (String id : ids) {
                assertThat(api.delete("/compute/v2.1/servers/" + id).status()).isEqualTo(204);
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> api.get("/compute/v2.1/servers").body().path("servers").isEmpty());
            assertThat(cloud.controller.resources().allocations().get("h1").orElseThrow().value().claims()).isEmpty();
            await().atMost(Duration.ofSeconds(30)).until(() -> GuestProcesses.all(agentDir).isEmpty());
        }
    }

    private static void check(HostAllocation a, int capacityMb, ConcurrentLinkedQueue<String> overcommit) {
        if (a.usedRamMb() > capacityMb || a.claims().size() > 10) {
            overcommit.add(a.claims().size() + " claims, " + a.usedRamMb() + " MB");
        }
    }

    private static boolean settled(ApiClient api, List<String> ids) throws Exception {
        for (String id : ids) {
            JsonNode s = api.server(id);
            String st = s.path("status").asText();
            if (!("ERROR".equals(st) || ("ACTIVE".equals(st) && s.path("OS-EXT-STS:task_state").isNull()))) {
                return false;
            }
        }
        return true;
    }

    /** The RAM the agent reports, computed the same way (MemTotal in MB). */
    static int hostRamMb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                return (int) (Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024);
            }
        }
        throw new IllegalStateException("no MemTotal");
    }

}
