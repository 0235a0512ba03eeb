package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.QemuWatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Instance HA on four simulated hosts with real QEMU guests whose disks live on shared storage.
 * For the whole class, {@link QemuWatch} looks at every QEMU process of the lab twenty times a
 * second: at no instant may two hosts run one instance. Each HA guest writes a marker near the end
 * of its root disk when it first boots and prints it when it finds it, so a recovered guest shows
 * its disk came along. Failures: power-off (the BMC fences; for a guest whose root disk is on
 * Ceph, the old host's address also goes on Ceph's blocklist first), kill -9 of the agent (the watchdog
 * fences), SIGSTOP of the agent (watchdog; BMC without watchdog; neither: nothing moves and the
 * agent carries on), a frozen host (neither: unfenceable; BMC: fenced), a cut management link
 * (self-fence and watchdog), and two hosts lost at once without room for all (priorities).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class InstanceHaIT {
    @RegisterExtension
    static final LabCluster cluster = LabCluster.hosts(4).withHa(2).withCeph();

    static ApiClient api;
    static String image;
    static QemuWatch watch;
    final List<String> servers = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        api = cluster.cloud.admin();
        image = api.imageId("tiny");
        String net = api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "ha-net"))).body().path("network").path("id").asText();
        assertThat(api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net, "cidr", "10.30.0.0/24"))).status())
                .isEqualTo(201);
        for (String h : cluster.lab.hosts()) {
            bmc(h, true);
        }
        // a second serial port for the write oracle's records
        var spec = api.post("/compute/v2.1/flavors/1/os-extra_specs", Map.of("extra_specs", Map.of("hw:serial_port_count", "2")));
        assertThat(spec.status()).as(spec.raw()).isEqualTo(200);
        watch = QemuWatch.start(cluster.lab, Duration.ofMillis(50));
    }

    @AfterAll
    static void tearDown() {
        if (watch != null) {
            watch.close();
            System.out.println("QemuWatch: " + watch.scans() + " scans, " + watch.violations().size() + " violations");
        }
    }

    @AfterEach
    void cleanUp() throws Exception {
        watch.assertNeverTwice();
        for (String id : servers) {
            if (!forked.contains(id)) {
                assertThat(chain(id).problems()).as("the write oracle of %s", id).isEmpty();
            }
        }
        for (String id : servers) {
            api.delete("/compute/v2.1/servers/" + id);
        }
        for (String h : cluster.lab.hosts()) {
            heal(h);
        }
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                .until(() -> servers.stream().allMatch(id -> {
                    try {
                        return api.server(id) == null;
                    } catch (Exception e) {
                        return false;
                    }
                }));
        watch.assertNeverTwice();
    }

    // ---- helpers ------------------------------------------------------------------------------

    static void bmc(String h, boolean on) throws Exception {
        if (on) {
            var b = cluster.lab.bmc(h);
            var r = api.put("/halcyon/v1/hosts/" + h + "/bmc", Map.of("address", b.address(), "port", b.port(), "username", b.user(),
                    "password", b.password()));
            assertThat(r.status()).as(r.raw()).isEqualTo(200);
            assertThat(r.raw()).doesNotContain(b.password());
        } else {
            assertThat(api.delete("/halcyon/v1/hosts/" + h + "/bmc").status()).isEqualTo(200);
        }
    }

    static JsonNode host(String h) throws Exception {
        return api.get("/halcyon/v1/hosts/" + h).body().path("host");
    }

    static String state(String h) throws Exception {
        return host(h).path("state").asText();
    }

    /** Powers the host on if it is off and waits until HA sees it up, its (new) agent renewing. */
    static void heal(String h) throws Exception {
        Instant since = Instant.EPOCH;
        if (!cluster.lab.host(h).path("power").asText().equals("on")) {
            since = Instant.now();
            cluster.lab.powerOn(h);
        }
        Instant after = since;
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(300)).until(() -> {
            JsonNode n = host(h);
            String st = n.path("state").asText();
            return (st.equals("up") || st.equals("maintenance") && n.path("maintenance").asBoolean()) && n.path("lease").asText().equals("held")
                    && !n.path("lastRenewal").isNull() && Instant.parse(n.path("lastRenewal").asText()).isAfter(after);
        });
    }

    /** Power-cycles an empty host in maintenance (so it is not fenced while it boots) with or without its watchdog. */
    static void powerCycle(String h, boolean watchdog) throws Exception {
        api.put("/halcyon/v1/hosts/" + h + "/maintenance", Map.of("enabled", true));
        try {
            cluster.watchdog(h, watchdog);
            if (cluster.lab.host(h).path("power").asText().equals("on")) {
                cluster.lab.powerOff(h);
            }
            heal(h);
        } finally {
            api.put("/halcyon/v1/hosts/" + h + "/maintenance", Map.of("enabled", false));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> state(h).equals("up"));
    }

    static String marker(String mark) {
        return "#!/bin/sh\n" + io.halcyon.testkit.ChainOracle.writerCommand(5000) + "s=$(cat /sys/block/vda/size); o=$((s - 2048))\n"
                + "c=$(dd if=/dev/vda bs=512 skip=$o count=1 2>/dev/null | head -n 1 | tr -cd 'A-Za-z0-9=._-')\n"
                + "if [ -z \"$c\" ]; then printf '%s\\n' " + mark + " | dd of=/dev/vda bs=512 seek=$o count=1 conv=sync,fsync 2>/dev/null; "
                + "echo \"marker written " + mark + "\"; else echo \"marker found $c\"; fi\n";
    }

    /** Boots an HA guest (or a plain one, priority null) on {@code host}: the other hosts are in maintenance meanwhile. */
    String boot(String name, String host, Integer priority) throws Exception {
        return boot(name, host, priority, null);
    }

    /** As {@link #boot(String, String, Integer)}, booted from {@code rootVolume} when it is not null. */
    String boot(String name, String host, Integer priority, String rootVolume) throws Exception {
        for (String h : cluster.lab.hosts()) {
            assertThat(api.put("/halcyon/v1/hosts/" + h + "/maintenance", Map.of("enabled", !h.equals(host))).status()).isEqualTo(200);
        }
        var md = new HashMap<String, String>();
        if (priority != null) {
            md.put("HA_Enabled", "True");
            md.put("ha:priority", priority.toString());
        }
        String mark = "m" + UUID.randomUUID().toString().substring(0, 8);
        var server = new HashMap<String, Object>(Map.of("name", name, "flavorRef", "1", "metadata", md,
                "user_data", Base64.getEncoder().encodeToString(marker(mark).getBytes(StandardCharsets.UTF_8))));
        if (rootVolume == null) {
            server.put("imageRef", image);
        } else {
            server.put("block_device_mapping_v2", List.of(Map.of("uuid", rootVolume, "source_type", "volume", "destination_type", "volume",
                    "boot_index", 0)));
        }
        var r = api.post("/compute/v2.1/servers", Map.of("server", server));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("server").path("id").asText();
        servers.add(id);
        await().atMost(Duration.ofSeconds(60)).until(() -> hostOf(id) != null);
        for (String h : cluster.lab.hosts()) {
            api.put("/halcyon/v1/hosts/" + h + "/maintenance", Map.of("enabled", false));
        }
        assertThat(hostOf(id)).isEqualTo(host);
        awaitConsole(id, "marker written " + mark);
        marks.put(id, mark);
        // the write oracle is running before anything is done to the guest
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> chain(id), c -> c.records() > 0);
        return id;
    }

    final Map<String, String> marks = new HashMap<>();
    /** Servers a test wrote to twice on purpose (the oracle's negative control). */
    final java.util.Set<String> forked = new java.util.HashSet<>();

    /** What the write oracle found for a guest: its QEMUs' logs on every host, its disk's ring, and the verdict. */
    record Chain(List<List<io.halcyon.testkit.ChainOracle.Record>> logs, List<io.halcyon.testkit.ChainOracle.Record> ring,
                 List<String> problems) {
        long boots() {
            return java.util.stream.Stream.concat(logs.stream().flatMap(List::stream), ring.stream())
                    .map(io.halcyon.testkit.ChainOracle.Record::boot).distinct().count();
        }

        long records() {
            return logs.stream().mapToLong(List::size).sum();
        }

        @Override
        public String toString() {
            var per = new ArrayList<String>();
            for (var l : logs) {
                per.add(l.size() + " records of boots " + l.stream().map(io.halcyon.testkit.ChainOracle.Record::boot).distinct().toList());
            }
            return "logs " + per + ", ring " + ring.size() + " records, problems " + problems.stream().limit(5).toList();
        }
    }

    static Path guestDir(String host, String id) {
        return cluster.lab.hostDir(host).resolve("agent/guests/" + id);
    }

    static Chain chain(String id) throws Exception {
        var logs = new ArrayList<List<io.halcyon.testkit.ChainOracle.Record>>();
        var problems = new ArrayList<String>();
        Path disk = null;
        for (String h : cluster.lab.hosts()) {
            Path log = guestDir(h, id).resolve("serial-1.log");
            if (Files.exists(log)) {
                logs.add(io.halcyon.testkit.ChainOracle.parseLog(Files.readString(log), problems));
            }
            Path cmd = guestDir(h, id).resolve("cmdline");
            Matcher m = Files.exists(cmd) ? ROOT_FILE.matcher(Files.readString(cmd)) : null;
            if (disk == null && m != null && m.find()) {
                disk = Path.of(m.group(1));
            }
        }
        var ring = disk == null || !Files.exists(disk) ? List.<io.halcyon.testkit.ChainOracle.Record>of()
                : io.halcyon.testkit.ChainOracle.parseRing(io.halcyon.testkit.ChainOracle.readRing(disk, "qcow2"));
        problems.addAll(io.halcyon.testkit.ChainOracle.check(ring, logs));
        return new Chain(logs, ring, problems);
    }

    /** The root disk of a file-backed guest in its QEMU's command line. */
    static final Pattern ROOT_FILE = Pattern.compile("\\{\"driver\":\"file\",\"filename\":\"([^\"]+)\",\"node-name\":\"root-file\"");

    static String hostOf(String id) throws Exception {
        JsonNode s = api.server(id);
        return s == null || s.path("OS-EXT-SRV-ATTR:host").isNull() ? null : s.path("OS-EXT-SRV-ATTR:host").asText();
    }

    static String console(String id) throws Exception {
        return api.post("/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of())).body().path("output").asText();
    }

    static void awaitConsole(String id, String text) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> console(id).contains(text));
    }

    static String ip(String id) throws Exception {
        Matcher m = Pattern.compile("halcyon-guest: ready (\\S+)").matcher(console(id));
        return m.find() ? m.group(1) : null;
    }

    /** Waits for the guest to run elsewhere, ACTIVE, with its disk (the marker) and its address; returns its new host. */
    String awaitRecovered(String id, String from, String ip, Instant t0, Duration bound) throws Exception {
        await().atMost(bound).pollInterval(Duration.ofMillis(200)).until(() -> {
            String h = hostOf(id);
            return h != null && !h.equals(from) && "ACTIVE".equals(api.server(id).path("status").asText());
        });
        String to = hostOf(id);
        awaitConsole(id, "marker found " + marks.get(id));
        Instant ready = Instant.now();
        // the oracle: the new boot's records follow the old one's, in one chain
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> chain(id), c -> c.boots() >= 2);
        Chain c = chain(id);
        assertThat(c.problems()).as("the write oracle of %s", id).isEmpty();
        System.out.printf("oracle %s: %d records logged, %d on the disk's ring, %d boots, one chain%n", id, c.records(), c.ring().size(),
                c.boots());
        assertThat(ip(id)).as("the same address on the new host").isEqualTo(ip);
        assertThat(watch.hostsOf(api.server(id).path("id").asText())).containsExactly(to);
        JsonNode actions = api.get("/compute/v2.1/servers/" + id + "/os-instance-actions").body().path("instanceActions");
        assertThat(actions.findValuesAsText("action")).contains("evacuate");
        System.out.printf("failover %s: %s -> %s, QEMU up after %d ms, guest ready after %d ms%n", id, from, to,
                Duration.between(t0, watch.firstSeen(id, to)).toMillis(), Duration.between(t0, ready).toMillis());
        return to;
    }

    String events(String h) throws Exception {
        return api.get("/halcyon/v1/hosts/" + h + "/events").raw();
    }

    // ---- scenarios ----------------------------------------------------------------------------

    @Test
    @Order(1)
    void powerOffIsFencedByTheBmcAndTheGuestRestartsElsewhereThenTheHostRejoinsEmpty() throws Exception {
        String a = boot("a", "host1", 10);
        String ip = ip(a);
        Instant t0 = Instant.now();
        cluster.lab.powerOff("host1");
        String to = awaitRecovered(a, "host1", ip, t0, Duration.ofSeconds(40));
        assertThat(host("host1").path("reason").asText()).contains("BMC");
        assertThat(events("host1")).contains("\"to\":\"fenced\"").contains("power-off");
        heal("host1");
        assertThat(watch.hostsOf(a)).containsExactly(to);
        assertThat(events("host1")).contains("rejoined empty");
    }

    /**
     * Root disk on Ceph: the host is powered off, its address goes on Ceph's blocklist before the
     * guest restarts elsewhere with its data, and a client of the old host can no longer write.
     */
    @Test
    @Order(2)
    void aGuestOnCephRestartsElsewhereAfterItsHostIsBlocklistedByCeph() throws Exception {
        var v = api.post(api.volumes() + "/volumes", Map.of("volume", Map.of("name", "ceph-root", "size", 1, "imageRef", image,
                "volume_type", "ceph")));
        assertThat(v.status()).as(v.raw()).isEqualTo(202);
        String volume = v.body().path("volume").path("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> api.get(api.volumes() + "/volumes/" + volume).body().path("volume")
                .path("status").asText().equals("available"));
        String c = boot("c", "host4", 10, volume);
        String ip = ip(c);
        String oldAddress = cluster.lab.managementIp("host4");
        // the exclusive lock's holder as Ceph sees it: the old QEMU's own client
        String holder = await().atMost(Duration.ofSeconds(30)).until(() -> {
            var locks = new com.fasterxml.jackson.databind.ObjectMapper().readTree(cluster.ceph.rbd("lock", "ls", "--format", "json",
                    cluster.ceph.pool() + "/volume-" + volume).orThrow().stdout());
            return locks.size() == 1 ? locks.get(0).path("address").asText().replaceFirst("^v[12]:", "") : null;
        }, java.util.Objects::nonNull);
        Instant t0 = Instant.now();
        cluster.lab.powerOff("host4");
        awaitRecovered(c, "host4", ip, t0, Duration.ofSeconds(60));
        assertThat(events("host4")).contains("storage-fenced").contains(oldAddress + ":0/0").contains(holder);
        assertThat(cluster.ceph.ceph("osd", "blocklist", "ls").orThrow().stdout() + cluster.ceph.ceph("osd", "blocklist", "ls").stderr())
                .contains(holder);
        assertThat(cluster.ceph.ceph("osd", "blocklist", "ls").orThrow().stdout() + cluster.ceph.ceph("osd", "blocklist", "ls").stderr())
                .contains(oldAddress + ":0/0");
        // a client on the old host's address: refused by the OSDs
        var write = io.halcyon.testkit.Command.run(List.of("ip", "netns", "exec", cluster.lab.prefix() + "-host4", "timeout", "30", "qemu-io",
                "-f", "raw", "-c", "write -P 0x66 0 64k", "rbd:" + cluster.ceph.pool() + "/volume-" + volume + ":conf=" + cluster.ceph.conf()),
                Map.of(), Duration.ofSeconds(60));
        assertThat(write.exit()).as(write.stdout() + write.stderr()).isNotZero();
        assertThat(write.stdout()).doesNotContain("wrote 65536/65536");
        heal("host4");
        assertThat(events("host4")).contains("rejoined empty");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> events("host4").contains("storage-unfenced"));
        assertThat(cluster.ceph.ceph("osd", "blocklist", "ls").stdout()).doesNotContain(oldAddress + ":0/0").doesNotContain(holder);
    }

    @Test
    @Order(3)
    void killOfTheAgentLeavesTheWatchdogToFenceTheHost() throws Exception {
        bmc("host2", false);
        try {
            String b = boot("b", "host2", 10);
            String ip = ip(b);
            cluster.bootAgent("host2", false);
            Instant t0 = Instant.now();
            cluster.lab.signal(cluster.lab.agentPid("host2"), "KILL");
            awaitRecovered(b, "host2", ip, t0, Duration.ofSeconds(40));
            assertThat(host("host2").path("reason").asText()).contains("self-fence deadline passed");
            assertThat(Files.readString(cluster.lab.hostDir("host2").resolve("watchdog.log"))).contains("watchdog fired");
        } finally {
            cluster.bootAgent("host2", true);
            bmc("host2", true);
        }
    }

    /**
     * The watchdog lies (the agent is told 4 s, it fires at 30 s) and the agent is SIGSTOPped, so the
     * host keeps running its guest long after the leader, counting 4 s, declared it fenced and
     * restarted the guest elsewhere. The disk's lease (the image lock the old QEMU still holds)
     * keeps the new host waiting until the watchdog finally takes the old host down: never two
     * writers, which {@link QemuWatch} checks at every scan after each test.
     */
    @Test
    @Order(4)
    void aLyingWatchdogAndAStoppedAgentNeverMakeASecondWriter() throws Exception {
        bmc("host3", false);
        cluster.lab.watchdogLies("host3", 30);
        try {
            String c = boot("c", "host3", 10);
            String ip = ip(c);
            String qemu = HaLabUpE2EIT.qemuOf(c);
            long agent = cluster.lab.agentPid("host3");
            Instant t0 = Instant.now();
            cluster.lab.signal(agent, "STOP");
            // the leader gave the guest to another host while the old QEMU still runs
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                String h = hostOf(c);
                return h != null && !h.equals("host3");
            });
            String to = hostOf(c);
            Instant moved = Instant.now();
            assertThat(host("host3").path("reason").asText()).contains("self-fence deadline passed");
            assertThat(HaLabUpE2EIT.qemuOf(c)).as("the old QEMU, not yet reset").isEqualTo(qemu);
            Path newLog = cluster.lab.hostDir(to).resolve("agent.log");
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                    .until(() -> Files.readString(newLog).contains("event=disk_lease_held host=" + to + " server_id=" + c));
            awaitRecovered(c, "host3", ip, t0, Duration.ofSeconds(90));
            String log = Files.readString(cluster.lab.hostDir("host3").resolve("watchdog.log"));
            assertThat(log).contains("watchdog fired: no pet for 30s");
            Instant started = watch.firstSeen(c, to);
            assertThat(Duration.between(t0, started)).as("the new QEMU started only once the old host was reset")
                    .isGreaterThan(Duration.ofSeconds(25));
            System.out.printf("lying watchdog: guest given to %s after %d ms, its QEMU started after %d ms%n", to,
                    Duration.between(t0, moved).toMillis(), Duration.between(t0, started).toMillis());
        } finally {
            cluster.lab.watchdogLies("host3", 0);
            bmc("host3", true);
        }
    }

    @Test
    @Order(5)
    void aStoppedAgentWithoutWatchdogIsFencedByTheBmc() throws Exception {
        restartWithoutWatchdog("host4");
        try {
            String d = boot("d", "host4", 10);
            String ip = ip(d);
            Instant t0 = Instant.now();
            cluster.lab.signal(cluster.lab.agentPid("host4"), "STOP");
            awaitRecovered(d, "host4", ip, t0, Duration.ofSeconds(40));
            assertThat(host("host4").path("reason").asText()).contains("BMC");
        } finally {
            cluster.watchdog("host4", true);
        }
    }

    /** Brings the host back without its watchdog. */
    void restartWithoutWatchdog(String h) throws Exception {
        powerCycle(h, false);
        assertThat(host(h).path("watchdogTimeoutSeconds").asDouble()).isZero();
    }

    @Test
    @Order(6)
    void withNeitherBmcNorWatchdogNothingMovesTheApiSaysWhyAndTheHostCarriesOn() throws Exception {
        restartWithoutWatchdog("host1");
        bmc("host1", false);
        try {
            String e = boot("e", "host1", 10);
            long qemuBefore = cluster.lab.pids("host1", "-uuid " + e).get(0);
            long agent = cluster.lab.agentPid("host1");
            cluster.lab.signal(agent, "STOP");
            Instant stopped = Instant.now();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> state("host1").equals("unfenceable"));
            assertThat(host("host1").path("reason").asText()).contains("no BMC and no watchdog");
            assertThat(host("host1").path("fencing").asText()).startsWith("none");
            // for the rest of the 30 s the guest stays where it is; then SIGCONT: the agent renews first and carries on
            Duration rest = Duration.ofSeconds(30).minus(Duration.between(stopped, Instant.now()));
            await().during(rest).atMost(rest.plusSeconds(5)).pollInterval(Duration.ofMillis(500))
                    .until(() -> "host1".equals(hostOf(e)) && cluster.lab.pids("host1", "-uuid " + e).contains(qemuBefore));
            cluster.lab.signal(agent, "CONT");
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> state("host1").equals("up"));
            assertThat(hostOf(e)).isEqualTo("host1");
            assertThat(cluster.lab.pids("host1", "-uuid " + e)).containsExactly(qemuBefore);

            // a frozen host (guests too) with neither: its guests must not start elsewhere
            cluster.lab.freeze("host1");
            try {
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> state("host1").equals("unfenceable"));
                assertThat(api.server(e).path("OS-EXT-SRV-ATTR:host").asText()).isEqualTo("host1");
            } finally {
                cluster.lab.thaw("host1");
            }
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> state("host1").equals("up"));
            assertThat(cluster.lab.pids("host1", "-uuid " + e)).containsExactly(qemuBefore);
            api.delete("/compute/v2.1/servers/" + e);
            await().atMost(Duration.ofSeconds(60)).until(() -> api.server(e) == null);
        } finally {
            bmc("host1", true);
            powerCycle("host1", true);
        }
    }

    @Test
    @Order(7)
    void aFrozenHostIsFencedByItsBmc() throws Exception {
        String f = boot("f", "host2", 10);
        String ip = ip(f);
        Instant t0 = Instant.now();
        cluster.lab.freeze("host2");
        try {
            awaitRecovered(f, "host2", ip, t0, Duration.ofSeconds(40));
        } finally {
            cluster.lab.thaw("host2");
        }
    }

    @Test
    @Order(8)
    void aCutManagementLinkSelfFencesAndTheWatchdogResetsTheHost() throws Exception {
        bmc("host3", false);
        try {
            String g = boot("g", "host3", 10);
            String ip = ip(g);
            Instant t0 = Instant.now();
            cluster.lab.cut("host3");
            try {
                String to = awaitRecovered(g, "host3", ip, t0, Duration.ofSeconds(40));
                Duration rest = Duration.ofSeconds(20).minus(Duration.between(t0, Instant.now()));
                if (!rest.isNegative()) {
                    await().during(rest).atMost(rest.plusSeconds(5)).until(() -> to.equals(hostOf(g)));
                }
            } finally {
                cluster.lab.restore("host3");
            }
            assertThat(Files.readString(cluster.lab.hostDir("host3").resolve("agent.log"))).contains("event=self_fence ");
        } finally {
            bmc("host3", true);
        }
    }

    @Test
    @Order(9)
    void twoHostsLostAtOnceWithoutRoomForAllRestartTheHighestPrioritiesFirst() throws Exception {
        String p10 = boot("p10", "host1", 10);
        String p1 = boot("p1", "host1", 1);
        String p5 = boot("p5", "host2", 5);
        String p2 = boot("p2", "host2", 2);
        boot("fill3", "host3", null);
        boot("fill4", "host4", null);
        Map<String, String> ips = Map.of(p10, ip(p10), p5, ip(p5));
        Instant t0 = Instant.now();
        cluster.lab.powerOff("host1", "host2");
        awaitRecovered(p10, "host1", ips.get(p10), t0, Duration.ofSeconds(60));
        awaitRecovered(p5, "host2", ips.get(p5), t0, Duration.ofSeconds(60));
        for (String low : List.of(p1, p2)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> "ERROR".equals(api.server(low).path("status").asText()));
            assertThat(api.server(low).path("fault").path("message").asText()).startsWith("No valid host for HA recovery");
        }
        // room appears when the hosts return: the waiting guests start there
        cluster.lab.powerOn("host1");
        cluster.lab.powerOn("host2");
        for (String low : List.of(p1, p2)) {
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
                    .until(() -> "ACTIVE".equals(api.server(low).path("status").asText()));
            awaitConsole(low, "marker found " + marks.get(low));
        }
    }

    /**
     * The oracle's negative control: a second QEMU of a running guest, started by hand on the same
     * root disk with its lock off (what the disk's lease exists to prevent) and otherwise the same
     * command line, is caught writing beside the first.
     */
    @Test
    @Order(10)
    void theOracleCatchesASecondQemuWritingTheSameDisk() throws Exception {
        String id = boot("fork", "host1", 10);
        forked.add(id);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> chain(id).records() > 20);
        assertThat(chain(id).problems()).isEmpty();
        Path dir = Files.createTempDirectory(Paths.work(), "second-qemu");
        var argv = new ArrayList<String>();
        String[] w = Files.readString(guestDir("host1", id).resolve("cmdline")).trim().split(" ");
        for (int i = 0; i < w.length; i++) {
            switch (w[i]) {
                case "-netdev" -> i++;
                case "-daemonize" -> { }
                case "-uuid" -> argv.addAll(List.of(w[i], UUID.randomUUID().toString(), "-name", "second-" + w[++i].substring(0, 8)));
                case "-name" -> i++;
                case "-qmp" -> argv.addAll(List.of(w[i++], "unix:" + dir.resolve("qmp.sock") + ",server=on,wait=off", "-pidfile",
                        dir.resolve("qemu.pid").toString()));
                case "-pidfile" -> i++;
                default -> {
                    String a = w[i];
                    if (i > 0 && w[i - 1].equals("-device") && a.startsWith("virtio-net-pci")) {
                        argv.remove(argv.size() - 1);
                        continue;
                    }
                    a = a.replace("\"locking\":\"on\"", "\"locking\":\"off\"");
                    a = a.replaceAll("path=[^,]*/console\\.log", "path=" + dir.resolve("console.log"));
                    a = a.replaceAll("path=[^,]*/serial-1\\.log", "path=" + dir.resolve("serial-1.log"));
                    argv.add(a);
                }
            }
        }
        Process second = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(dir.resolve("qemu.out").toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> {
                var errors = new ArrayList<String>();
                Path log = dir.resolve("serial-1.log");
                var theirs = Files.exists(log) ? io.halcyon.testkit.ChainOracle.parseLog(Files.readString(log), errors)
                        : List.<io.halcyon.testkit.ChainOracle.Record>of();
                if (theirs.size() < 20) {
                    assertThat(second.isAlive()).as("the second QEMU: %s", Files.exists(dir.resolve("qemu.out"))
                            ? Files.readString(dir.resolve("qemu.out")) : "").isTrue();
                    return false;
                }
                Chain c = chain(id);
                var logs = new ArrayList<>(c.logs());
                logs.add(theirs);
                var problems = io.halcyon.testkit.ChainOracle.check(c.ring(), logs);
                System.out.println("oracle on a second writer: " + problems.stream().limit(3).toList());
                return !problems.isEmpty();
            });
        } finally {
            second.destroyForcibly().waitFor();
            io.halcyon.testkit.Files2.deleteTree(dir);
        }
    }

    /**
     * HA is disarmed on a host and the host is cut as soon as that is answered, so its last renewal
     * record may still say it self-fences; it is armed again while away. No BMC: the leader counts
     * on the self-fence only once a record saying so was written, and the guest runs once (the
     * lease, the oracle and {@link QemuWatch} agree).
     */
    @Test
    @Order(11)
    void disarmCutAndRearmRunsTheGuestOnce() throws Exception {
        bmc("host2", false);
        try {
            String g = boot("dcr", "host2", 10);
            String ip = ip(g);
            Instant t0 = Instant.now();
            // cut right after the disarm is answered: the agent may not have heard it yet
            assertThat(api.put("/halcyon/v1/hosts/host2/ha", Map.of("disarmed", true)).status()).isEqualTo(200);
            cluster.lab.cut("host2");
            try {
                // armed again while away, once the leader has seen it go down
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> state("host2").equals("down"));
                assertThat(api.put("/halcyon/v1/hosts/host2/ha", Map.of("disarmed", false)).status()).isEqualTo(200);
                // disarmed when cut: either its guest stays (it never self-fenced) or it self-fenced and the guest restarts elsewhere
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
                    String st = state("host2");
                    return st.equals("fenced") || st.equals("unfenceable") || st.equals("isolated");
                });
                if (state("host2").equals("fenced")) {
                    awaitRecovered(g, "host2", ip, t0, Duration.ofSeconds(60));
                } else {
                    assertThat(hostOf(g)).isEqualTo("host2");
                }
                System.out.println("disarm, cut, re-arm: host2 ended " + state("host2") + ", the guest on " + hostOf(g));
            } finally {
                cluster.lab.restore("host2");
            }
        } finally {
            bmc("host2", true);
        }
    }

    /**
     * Half of the hosts lose their switch seconds apart (the second once the leader has noticed the
     * first; their renewals at their own phases): not more than half, so no brake; both are fenced through their BMCs and
     * their HA guests run again on the other half, each once.
     */
    @Test
    @Order(12)
    void halfTheHostsLoseTheirSwitchAtRandomMomentsAndEachGuestRunsOnce() throws Exception {
        String a = boot("half-a", "host3", 10);
        String b = boot("half-b", "host4", 10);
        var ips = Map.of(a, ip(a), b, ip(b));
        Instant t0 = Instant.now();
        cluster.lab.cut("host3");
        // the second one once the leader has noticed the first: failures seconds apart, at their own renewal phases
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> !state("host3").equals("up"));
        cluster.lab.cut("host4");
        try {
            awaitRecovered(a, "host3", ips.get(a), t0, Duration.ofSeconds(60));
            awaitRecovered(b, "host4", ips.get(b), t0, Duration.ofSeconds(60));
            assertThat(events("host3") + events("host4")).doesNotContain("brake");
        } finally {
            cluster.lab.restore("host3");
            cluster.lab.restore("host4");
        }
    }
}
