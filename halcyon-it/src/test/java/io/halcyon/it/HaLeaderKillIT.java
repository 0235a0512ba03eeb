package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.Lab;
import io.halcyon.testkit.LabAgents;
import io.halcyon.testkit.OvnCentral;
import io.halcyon.testkit.QemuWatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

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
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
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
    @Order(1)
    void theNewLeaderFinishesTheRecoveryTheOldOneBegan() throws Exception {
        var api = cloud.admin();
        String net = api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "n"))).body().path("network").path("id").asText();
        api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net, "cidr", "10.31.0.0/24")));
        String id = haGuestOnHost1(api, "ha1");

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

    /** An HA guest placed on host1 (host2 in maintenance meanwhile), once it is ready. */
    static String haGuestOnHost1(ApiClient api, String name) throws Exception {
        api.put("/halcyon/v1/hosts/host2/maintenance", Map.of("enabled", true));
        var r = api.post("/compute/v2.1/servers", Map.of("server", Map.of("name", name, "flavorRef", "1", "imageRef", api.imageId("tiny"),
                "metadata", Map.of("HA_Enabled", "True"))));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("server").path("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> "host1".equals(hostOf(api, id)));
        api.put("/halcyon/v1/hosts/host2/maintenance", Map.of("enabled", false));
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> console(api, id).contains("halcyon-guest: ready"));
        return id;
    }

    static String state(ApiClient api, String h) throws Exception {
        return api.get("/halcyon/v1/hosts/" + h).body().path("host").path("state").asText();
    }

    /**
     * The leader is SIGSTOPped in the middle of a power-off (host1 cut, its BMC not answering),
     * and stays stopped until the other controller leads, fences host1 through its BMC and
     * restarts the guest on host2, and host1 has come back and rejoined empty. Resumed, the old
     * leader acts on what it knew: every external action it still tries carries its term and is
     * refused, so the healthy host1 is not powered off again and the guest runs once.
     */
    @Test
    @Order(2)
    void aLeaderStoppedInTheMiddleOfAPowerOffTouchesNothingWhenItResumes() throws Exception {
        for (var c : cloud.controllers) {
            if (!c.alive()) {
                c.start();
            }
        }
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
                .until(() -> cloud.controllers.stream().allMatch(c -> c.health() != null) && cloud.leader().isPresent());
        var api = cloud.admin();
        if (!lab.host("host1").path("power").asText().equals("on")) {
            lab.powerOn("host1");
        }
        for (String h : lab.hosts()) {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(300)).until(() -> "up".equals(state(api, h)));
        }
        var b = lab.bmc("host1");
        var set = api.put("/halcyon/v1/hosts/host1/bmc", Map.of("address", b.address(), "port", b.port(), "username", b.user(),
                "password", b.password()));
        assertThat(set.status()).as(set.raw()).isEqualTo(200);
        String id = haGuestOnHost1(api, "ha2");

        HaCloud.Controller oldLeader = cloud.leader().orElseThrow();
        HaCloud.Controller other = cloud.controllers.stream().filter(c -> c != oldLeader).findFirst().orElseThrow();
        long bmcPid = Long.parseLong(Files.readString(lab.hostDir("host1").resolve("bmc/pid")).trim());
        lab.signal(bmcPid, "STOP");
        boolean bmcStopped = true;
        boolean leaderStopped = false;
        try {
            lab.cut("host1");
            // the leader has asked the (silent) BMC to power host1 off: stop it right there
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                    .until(() -> api.get("/halcyon/v1/hosts/host1/events").raw().contains("\"to\":\"power-off\""));
            oldLeader.signal("STOP");
            leaderStopped = true;
            lab.signal(bmcPid, "CONT");
            bmcStopped = false;
            var api2 = new ApiClient(other.url()).login("admin", HaCloud.ADMIN_PASSWORD, "admin");
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(other::leader);
            // the new leader fences host1 through its BMC and restarts the guest on host2
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> "host2".equals(hostOf(api2, id))
                    && "ACTIVE".equals(api2.server(id).path("status").asText()));
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> console(api2, id).contains("halcyon-guest: ready"));
            assertThat(lab.host("host1").path("power").asText()).isEqualTo("off");
            // host1 comes back healthy and rejoins empty
            lab.restore("host1");
            lab.powerOn("host1");
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(300)).until(() -> "up".equals(state(api2, "host1")));
            String before = api2.get("/halcyon/v1/hosts/host1/events").raw();
            // the old leader resumes, believing it is in the middle of a power-off of host1
            oldLeader.signal("CONT");
            leaderStopped = false;
            // for 15 s after it resumed, host1 stays powered and up
            await().during(Duration.ofSeconds(15)).atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500))
                    .until(() -> lab.host("host1").path("power").asText().equals("on") && "up".equals(state(api2, "host1")));
            String after = api2.get("/halcyon/v1/hosts/host1/events").raw();
            assertThat(after.split("power-off", -1).length).as("no power-off after host1 rejoined: %s", after)
                    .isEqualTo(before.split("power-off", -1).length);
            assertThat(hostOf(api2, id)).isEqualTo("host2");
            watch.assertNeverTwice();
            assertThat(watch.hostsOf(id)).containsExactly("host2");
            System.out.println("old leader's refusals: " + oldLeader.logText().lines()
                    .filter(l -> l.contains("ha_external_action_refused") || l.contains("not the leader")).limit(5).toList());
        } finally {
            if (leaderStopped) {
                oldLeader.signal("CONT");
            }
            if (bmcStopped) {
                lab.signal(bmcPid, "CONT");
            }
            lab.restore("host1");
        }
    }
}
