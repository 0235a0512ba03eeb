package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.QemuWatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Isolation, not outage: three simulated hosts with watchdogs, each running an HA guest, and
 * their heartbeats on the shared storage. The whole control plane stops for a minute: no agent
 * self-fences, no watchdog resets a host, no guest's QEMU changes. Then one host loses the
 * control plane alone: alive on its storage, it is shown isolated, keeps its guest and is not
 * fenced; back on the control plane, it is up again.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControlPlaneOutageIT {
    @RegisterExtension
    static final LabCluster cluster = LabCluster.hosts(3).withHa(2).withWitness();

    static ApiClient api;
    static QemuWatch watch;
    static final Map<String, String> guests = new HashMap<>();

    @BeforeAll
    static void setUp() throws Exception {
        api = cluster.cloud.admin();
        String image = api.imageId("tiny");
        String net = api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "outage-net"))).body().path("network").path("id").asText();
        assertThat(api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net, "cidr", "10.31.0.0/24"))).status())
                .isEqualTo(201);
        for (String h : cluster.lab.hosts()) {
            // the other hosts in maintenance meanwhile, so the guest lands where it is meant to
            for (String o : cluster.lab.hosts()) {
                assertThat(api.put("/halcyon/v1/hosts/" + o + "/maintenance", Map.of("enabled", !o.equals(h))).status()).isEqualTo(200);
            }
            var r = api.post("/compute/v2.1/servers", Map.of("server", Map.of("name", "g-" + h, "flavorRef", "1", "imageRef", image,
                    "metadata", Map.of("HA_Enabled", "True"))));
            assertThat(r.status()).as(r.raw()).isEqualTo(202);
            String id = r.body().path("server").path("id").asText();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !api.server(id).path("OS-EXT-SRV-ATTR:host").isNull());
            assertThat(api.server(id).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(h);
            guests.put(h, id);
        }
        for (String h : cluster.lab.hosts()) {
            api.put("/halcyon/v1/hosts/" + h + "/maintenance", Map.of("enabled", false));
        }
        for (String id : guests.values()) {
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
                    .until(() -> "ACTIVE".equals(api.server(id).path("status").asText()));
        }
        watch = QemuWatch.start(cluster.lab, Duration.ofMillis(50));
        // every agent armed again and counting its storage heartbeats: its renewal record says both
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> cluster.lab.hosts().stream()
                .allMatch(h -> cluster.cloud.controller.resources().hostBeats().get(h)
                        .map(b -> b.value().armed() && b.value().witness()).orElse(false)));
    }

    @AfterAll
    static void tearDown() {
        if (watch != null) {
            watch.close();
        }
    }

    /** Each guest's QEMU as the root PID namespace sees it: pid and start time, which a restarted QEMU would not share. */
    static Map<String, String> qemus() throws Exception {
        var out = new HashMap<String, String>();
        for (var e : guests.entrySet()) {
            out.put(e.getKey(), HaLabUpE2EIT.qemuOf(e.getValue()));
        }
        return out;
    }

    static List<String> powered() {
        var out = new ArrayList<String>();
        for (String h : cluster.lab.hosts()) {
            if (cluster.lab.host(h).path("power").asText().equals("on")) {
                out.add(h);
            }
        }
        return out;
    }

    static String agentLog(String h) throws Exception {
        var log = cluster.lab.hostDir(h).resolve("agent.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Test
    @Order(1)
    void aMinuteWithoutTheControlPlaneKillsNothingAndResetsNoHost() throws Exception {
        var before = qemus();
        assertThat(before.values()).doesNotContainNull();
        cluster.cloud.stopController();
        try {
            // a minute in which every guest's QEMU stays the same and no watchdog resets a host
            await().during(Duration.ofSeconds(60)).atMost(Duration.ofSeconds(70)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> qemus().equals(before) && powered().size() == cluster.lab.hosts().size());
        } finally {
            cluster.cloud.startController();
        }
        for (String h : cluster.lab.hosts()) {
            assertThat(agentLog(h)).as("agent of %s", h).doesNotContain("event=self_fence ");
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> cluster.lab.hosts().stream()
                .allMatch(h -> cluster.cloud.controller.resources().hostUp(h)));
        api = cluster.cloud.admin();
        for (var e : guests.entrySet()) {
            JsonNode s = api.server(e.getValue());
            assertThat(s.path("status").asText()).isEqualTo("ACTIVE");
            assertThat(s.path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo(e.getKey());
        }
        assertThat(qemus()).isEqualTo(before);
        watch.assertNeverTwice();
    }

    @Test
    @Order(2)
    void aHostCutFromTheControlPlaneButAliveOnItsStorageIsIsolatedAndKeepsItsGuest() throws Exception {
        var before = qemus();
        cluster.lab.cut("host1");
        try {
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> "isolated".equals(state("host1")));
            // well past the self-fence deadline (11 s): nothing is fenced, nothing moves
            await().during(Duration.ofSeconds(15)).atMost(Duration.ofSeconds(25)).pollInterval(Duration.ofMillis(500))
                    .until(() -> "isolated".equals(state("host1")) && qemus().equals(before)
                            && powered().size() == cluster.lab.hosts().size());
        } finally {
            cluster.lab.restore("host1");
        }
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> "up".equals(state("host1")));
        assertThat(qemus()).isEqualTo(before);
        assertThat(agentLog("host1")).doesNotContain("event=self_fence ");
        watch.assertNeverTwice();
    }

    static String state(String h) throws Exception {
        return api.get("/halcyon/v1/hosts/" + h).body().path("host").path("state").asText();
    }
}
