package io.halcyon.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.config.Sealer;
import io.halcyon.cli.HalcyonConfig;
import io.halcyon.config.ConfigLoader;
import io.halcyon.controller.ControllerMain;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.Lab;
import io.halcyon.testkit.LabAgents;
import io.halcyon.testkit.OvnCentral;
import io.halcyon.testkit.Ports;
import io.halcyon.testkit.QemuWatch;
import io.halcyon.testkit.TinyImage;

import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Instance HA failover with the default settings on three simulated hosts: each trial boots an HA
 * guest, powers its host off (as a power loss: every process of the host dies), and times, from
 * that moment, the host called down (detection), the host fenced, the guest placed elsewhere, its
 * QEMU running there, and its readiness line on the new console (guest boot). "bmc": the BMC
 * confirms the power-off; "self-fence": no BMC configured, the leader waits for the self-fence
 * deadline (the hosts pet their simulated watchdogs).
 *
 * <pre>bench/run.sh ha [bmc|self-fence] [trials]</pre>
 */
public final class HaFailoverBench {
    private HaFailoverBench() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "bmc";
        int trials = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        if (!mode.equals("bmc") && !mode.equals("self-fence")) {
            throw new IllegalArgumentException("mode must be bmc or self-fence, not " + mode);
        }
        Path root = Path.of(System.getProperty("halcyon.root", "."));
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("halcyon.benchDir", "/var/tmp")), "halcyon-bench-ha");
        Path image = TinyImage.ensure(root, dir);
        Path jar = root.resolve("halcyon-cli/target/halcyon.jar");
        var ovsDirs = new java.util.ArrayList<Path>();
        try (Lab lab = Lab.create(root, dir.resolve("lab"), 3); var ovn = OvnCentral.start(lab.controllerIp())) {
            int port = Ports.free();
            int agentPort = Ports.free();
            Path key = dir.resolve("ha.key");
            Sealer.generate(key);
            String yaml = "controller:\n  dataDir: " + dir.resolve("data") + "\n  api: {port: " + port + ", bind: \"0.0.0.0\"}\n"
                    + "  agentApi: {port: " + agentPort + ", bind: \"0.0.0.0\"}\n"
                    + "  adminPassword: bench-password\n  agentToken: bench-agent-token-000\n"
                    + "  network: {ovnNorthbound: \"" + ovn.nbUnix() + "\", physicalNetworks: [provider]}\n"
                    // the trials fence the hosts one after another on purpose: the brake would stop the second
                    + "  ha: {credentialKeyFile: \"" + key + "\", brakeShare: 1.0}\n"
                    + "  bootstrap:\n    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                    + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n";
            var opts = new LabAgents.Options(List.of("http://" + lab.controllerIp() + ":" + agentPort), "bench-agent-token-000",
                    ovn.sbTcp(lab.controllerIp()), true, 0);
            var cfg = ConfigLoader.parse("bench", yaml, HalcyonConfig.class);
            try (var controller = ControllerMain.start(cfg.controller()); var watch = QemuWatch.start(lab, Duration.ofMillis(50))) {
                for (String h : lab.hosts()) {
                    ovsDirs.add(LabAgents.ovsDir(lab, h));
                    LabAgents.configure(lab, h, opts);
                    LabAgents.boot(lab, h, jar, true);
                    lab.powerOn(h);
                }
                var api = new BenchApi(HttpClient.newHttpClient(), "http://127.0.0.1:" + port).login("admin", "bench-password", "admin");
                for (String h : lab.hosts()) {
                    awaitUp(api, h, Instant.EPOCH);
                    if (mode.equals("bmc")) {
                        var b = lab.bmc(h);
                        api.json("PUT", "/halcyon/v1/hosts/" + h + "/bmc", Map.of("address", b.address(), "port", b.port(), "username",
                                b.user(), "password", b.password()), 200);
                    }
                }
                String net = api.json("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "bench")), 201)
                        .path("network").path("id").asText();
                api.json("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net, "cidr", "10.78.0.0/24")), 201);
                String imageId = api.json("GET", "/image/v2/images?name=tiny", null, 200).path("images").get(0).path("id").asText();
                var stages = new LinkedHashMap<String, Stats>();
                for (String s : List.of("detection (down)", "fenced", "placed elsewhere", "QEMU running", "guest ready")) {
                    stages.put(s, new Stats());
                }
                for (int t = 0; t < trials; t++) {
                    String victim = lab.hosts().get(t % lab.hosts().size());
                    var one = trial(api, lab, watch, victim, imageId);
                    one.forEach((k, v) -> stages.get(k).add(v));
                    System.out.printf("trial %d/%d (%s): %s%n", t + 1, trials, victim, last(one));
                }
                watch.assertNeverTwice();
                System.out.printf("%nHA failover, %s, %d trials, host power-off -> (ms):%n", mode, trials);
                stages.forEach((k, v) -> System.out.printf("  %-18s %s%n", k, v.summary(" ms")));
                System.out.printf("QemuWatch: %d scans, no instance on two hosts at once%n", watch.scans());
                System.out.println("defaults: renewal 1 s, lease TTL 5 s, suspect 2 s, self-fence 4 s, watchdog 4 s (lab), fence margin 2 s");
            }
        } finally {
            ovsDirs.forEach(Files2::deleteTree);
        }
    }

    private static String last(Map<String, Double> trial) {
        var sb = new StringBuilder();
        trial.forEach((k, v) -> sb.append(k).append('=').append(String.format("%.0f ms", v)).append("  "));
        return sb.toString().trim();
    }

    private static Map<String, Double> trial(BenchApi api, Lab lab, QemuWatch watch, String victim, String image) throws Exception {
        for (String h : lab.hosts()) {
            api.json("PUT", "/halcyon/v1/hosts/" + h + "/maintenance", Map.of("enabled", !h.equals(victim)), 200);
        }
        String id = api.json("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "ha-bench", "flavorRef", "1",
                "imageRef", image, "metadata", Map.of("HA_Enabled", "True"))), 202).path("server").path("id").asText();
        await(Duration.ofSeconds(60), () -> victim.equals(hostOf(api, id)));
        for (String h : lab.hosts()) {
            api.json("PUT", "/halcyon/v1/hosts/" + h + "/maintenance", Map.of("enabled", false), 200);
        }
        await(Duration.ofSeconds(90), () -> console(api, id).contains("halcyon-guest: ready"));
        Instant t0 = Instant.now();
        lab.powerOff(victim);
        await(Duration.ofSeconds(90), () -> {
            String h = hostOf(api, id);
            return h != null && !h.equals(victim) && console(api, id).contains("halcyon-guest: ready");
        });
        Instant ready = Instant.now();
        String to = hostOf(api, id);
        Instant down = null;
        Instant fenced = null;
        for (JsonNode e : api.json("GET", "/halcyon/v1/hosts/" + victim + "/events", null, 200).path("events")) {
            Instant at = Instant.parse(e.path("at").asText());
            if (at.isBefore(t0)) {
                continue;
            }
            if (down == null && e.path("to").asText().equals("down")) {
                down = at;
            }
            if (fenced == null && e.path("to").asText().equals("fenced")) {
                fenced = at;
            }
        }
        Instant placed = null;
        for (JsonNode a : api.json("GET", "/compute/v2.1/servers/" + id + "/os-instance-actions", null, 200).path("instanceActions")) {
            if (a.path("action").asText().equals("evacuate")) {
                String rid = a.path("request_id").asText();
                for (JsonNode e : api.json("GET", "/compute/v2.1/servers/" + id + "/os-instance-actions/" + rid, null, 200)
                        .path("instanceAction").path("events")) {
                    if (e.path("event").asText().equals("ha_restart_elsewhere")) {
                        placed = Instant.parse(e.path("start_time").asText().endsWith("Z") ? e.path("start_time").asText()
                                : e.path("start_time").asText() + "Z");
                    }
                }
            }
        }
        var out = new LinkedHashMap<String, Double>();
        out.put("detection (down)", ms(t0, down));
        out.put("fenced", ms(t0, fenced));
        out.put("placed elsewhere", ms(t0, placed));
        out.put("QEMU running", ms(t0, watch.firstSeen(id, to)));
        out.put("guest ready", ms(t0, ready));
        api.send("DELETE", "/compute/v2.1/servers/" + id, null);
        Instant on = Instant.now();
        lab.powerOn(victim);
        awaitUp(api, victim, on);
        await(Duration.ofSeconds(60), () -> api.send("GET", "/compute/v2.1/servers/" + id, null).statusCode() == 404);
        return out;
    }

    private static double ms(Instant from, Instant to) {
        return to == null ? Double.NaN : Duration.between(from, to).toMillis();
    }

    private static String hostOf(BenchApi api, String id) throws Exception {
        JsonNode s = api.json("GET", "/compute/v2.1/servers/" + id, null, 200).path("server");
        return s.path("OS-EXT-SRV-ATTR:host").isNull() ? null : s.path("OS-EXT-SRV-ATTR:host").asText();
    }

    private static String console(BenchApi api, String id) throws Exception {
        var r = api.send("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of()));
        return r.statusCode() == 200 ? BenchApi.JSON.readTree(r.body()).path("output").asText() : "";
    }

    /** The host is up for HA and renewed its lease after {@code since}. */
    private static void awaitUp(BenchApi api, String h, Instant since) throws Exception {
        await(Duration.ofSeconds(120), () -> {
            var r = api.send("GET", "/halcyon/v1/hosts/" + h, null);
            if (r.statusCode() != 200) {
                return false;
            }
            JsonNode n = BenchApi.JSON.readTree(r.body()).path("host");
            return n.path("state").asText().equals("up") && !n.path("lastRenewal").isNull()
                    && Instant.parse(n.path("lastRenewal").asText()).isAfter(since);
        });
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private static void await(Duration limit, Check c) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!c.ok()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("gave up after " + limit);
            }
            Thread.sleep(50);
        }
    }
}
