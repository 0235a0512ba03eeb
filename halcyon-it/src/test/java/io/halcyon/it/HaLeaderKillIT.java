package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.Lab;
import io.halcyon.testkit.LabAgents;
import io.halcyon.testkit.OvnCentral;
import io.halcyon.testkit.QemuWatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
 * The leader controller killed (-9) in the middle of a recovery, with the HA control plane: two
 * controller processes over a three-member etcd, two simulated hosts whose agents know both, and
 * real QEMU guests. host1 has no BMC, so its fencing takes the self-fence deadline and the leader
 * dies while it waits. The new leader watches the hosts for a full lease period, counts the deadline
 * from its own first look, fences and finishes the recovery; at no instant does the guest run on
 * two hosts.
 */
class HaLeaderKillIT {
    static Lab lab;
    static OvnCentral ovn;
    static HaCloud cloud;
    static QemuWatch watch;
    static final List<Path> ovsDirs = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        try {
            Files.createDirectories(Paths.work());
            lab = Lab.create(Paths.root(), Files.createTempDirectory(Paths.work(), "lab"), 2);
            ovn = OvnCentral.start(lab.controllerIp());
            // the cloud's secret key (HaCloud's) seals the BMC passwords too
            cloud = HaCloud.start(2, "4s", "  network: {ovnNorthbound: \"" + ovn.nbUnix() + "\", physicalNetworks: [provider]}\n", "0.0.0.0");
            var urls = cloud.controllers.stream().map(c -> "http://" + lab.controllerIp() + ":" + c.agentPort).toList();
            for (String h : lab.hosts()) {
                ovsDirs.add(LabAgents.ovsDir(lab, h));
                LabAgents.configure(lab, h, new LabAgents.Options(urls, HaCloud.AGENT_TOKEN, ovn.sbTcp(lab.controllerIp()), true, 0));
                LabAgents.boot(lab, h, Paths.jar(), true);
                lab.powerOn(h);
            }
            var api = cloud.admin();
            for (String h : lab.hosts()) {
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(300))
                        .until(() -> "up".equals(api.get("/halcyon/v1/hosts/" + h).body().path("host").path("state").asText()));
            }
            watch = QemuWatch.start(lab, Duration.ofMillis(50));
        } catch (Exception | AssertionError e) {
            stop();
            throw e;
        }
    }

    @AfterAll
    static void stop() {
        if (watch != null) {
            watch.close();
        }
        if (lab != null) {
            lab.close();
        }
        if (cloud != null) {
            cloud.close();
        }
        if (ovn != null) {
            ovn.close();
        }
        ovsDirs.forEach(Files2::deleteTree);
    }

    static String hostOf(ApiClient api, String id) throws Exception {
        JsonNode s = api.server(id);
        return s == null || s.path("OS-EXT-SRV-ATTR:host").isNull() ? null : s.path("OS-EXT-SRV-ATTR:host").asText();
    }

    static String console(ApiClient api, String id) throws Exception {
        return api.post("/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of())).body().path("output").asText();
    }

    @Test
    void theNewLeaderFinishesTheRecoveryTheOldOneBegan() throws Exception {
        var api = cloud.admin();
        String net = api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "n"))).body().path("network").path("id").asText();
        api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net, "cidr", "10.31.0.0/24")));
        api.put("/halcyon/v1/hosts/host2/maintenance", Map.of("enabled", true));
        var r = api.post("/compute/v2.1/servers", Map.of("server", Map.of("name", "ha1", "flavorRef", "1", "imageRef", api.imageId("tiny"),
                "metadata", Map.of("HA_Enabled", "True"))));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("server").path("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> "host1".equals(hostOf(api, id)));
        api.put("/halcyon/v1/hosts/host2/maintenance", Map.of("enabled", false));
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> console(api, id).contains("halcyon-guest: ready"));

        HaCloud.Controller oldLeader = cloud.leader().orElseThrow();
        lab.powerOff("host1");
        // the leader calls the host down and waits for its self-fence deadline: kill it right there
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> api.get("/halcyon/v1/hosts/host1").body().path("host").path("state").asText().equals("fencing"));
        oldLeader.kill9();
        assertThat(hostOf(cloud.admin(), id)).isEqualTo("host1");
        var api2 = cloud.admin();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
            String h = hostOf(api2, id);
            return "host2".equals(h) && "ACTIVE".equals(api2.server(id).path("status").asText());
        });
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> console(api2, id).contains("halcyon-guest: ready"));
        watch.assertNeverTwice();
        assertThat(watch.hostsOf(id)).containsExactly("host2");
        String events = api2.get("/halcyon/v1/hosts/host1/events").raw();
        assertThat(events).contains("\"to\":\"fenced\"");
        System.out.println("host1 events: " + events);
    }
}
