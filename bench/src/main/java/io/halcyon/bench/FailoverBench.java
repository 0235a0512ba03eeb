package io.halcyon.bench;

import io.halcyon.agent.AgentMain;
import io.halcyon.cli.HalcyonConfig;
import io.halcyon.config.ConfigLoader;
import io.halcyon.testkit.EtcdCluster;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.Ports;
import io.halcyon.testkit.TinyImage;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Leader failover with the default lease TTL: three controller processes over a three-member etcd,
 * a simulated host; each trial kills the leader with -9, asks a surviving controller for a server at
 * once, and measures until the new leader has placed it (its first reconcile) and until it is
 * ACTIVE. Medians and percentiles over the trials.
 */
public final class FailoverBench {
    private FailoverBench() {
    }

    record Controller(int port, Path config, Process[] process) {
        String url() {
            return "http://127.0.0.1:" + port;
        }
    }

    public static void main(String[] args) throws Exception {
        int trials = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        Path root = Path.of(System.getProperty("halcyon.root", "."));
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("halcyon.benchDir", "/var/tmp")), "halcyon-bench-failover");
        Path jar = root.resolve("halcyon-cli/target/halcyon.jar");
        Path image = TinyImage.ensure(root, dir);
        var http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        var controllers = new ArrayList<Controller>();
        AgentMain agent = null;
        try (var etcd = EtcdCluster.start(dir, 3)) {
            for (int i = 0; i < 3; i++) {
                int port = Ports.free();
                Path cfg = dir.resolve("c" + i + ".yaml");
                Files.writeString(cfg, "controller:\n  dataDir: " + dir.resolve("data") + "\n  api: {port: " + port + "}\n"
                        + "  store: {backend: etcd, etcdEndpoints: [\"" + String.join("\", \"", etcd.endpoints()) + "\"]}\n"
                        + "  adminPassword: bench-password\n  agentToken: bench-agent-token-000\n"
                        + "  quotas: {instances: 1000, cores: 1000, ram: 1000000}\n"
                        + "  bootstrap:\n    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                        + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n");
                var c = new Controller(port, cfg, new Process[1]);
                start(c, jar, dir.resolve("c" + i + ".log"));
                controllers.add(c);
            }
            for (Controller c : controllers) {
                awaitHealth(http, c, Duration.ofSeconds(120));
            }
            var urls = controllers.stream().map(Controller::url).toList();
            String agentYaml = "agent:\n  name: sim1\n  controllers: [\"" + String.join("\", \"", urls) + "\"]\n"
                    + "  agentToken: bench-agent-token-000\n  dataDir: " + dir.resolve("agent") + "\n  driver: simulated\n  pollWait: 5s\n";
            agent = AgentMain.start(ConfigLoader.parse("bench", agentYaml, HalcyonConfig.class).agent());
            var placed = new Stats();
            var active = new Stats();
            var elected = new Stats();
            for (int t = 1; t <= trials; t++) {
                Controller leader = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (leader == null) {
                    for (Controller c : controllers) {
                        String h = health(http, c);
                        if (h != null && h.contains("\"leader\":true")) {
                            leader = c;
                        }
                    }
                    if (leader == null && System.nanoTime() > deadline) {
                        throw new IllegalStateException("no leader");
                    }
                    Thread.sleep(50);
                }
                Controller other = controllers.get((controllers.indexOf(leader) + 1) % 3);
                var api = new BenchApi(http, other.url()).login("admin", "bench-password", "admin");
                String img = api.imageId("tiny");
                long t0 = System.nanoTime();
                leader.process()[0].destroyForcibly();
                String id = api.createServer("f" + t, "1", img);
                long tPlaced = 0;
                long tActive = 0;
                long tElected = 0;
                while (tActive == 0) {
                    var s = api.json("GET", "/compute/v2.1/servers/" + id, null, 200).path("server");
                    long now = System.nanoTime();
                    if (tPlaced == 0 && !s.path("OS-EXT-SRV-ATTR:host").isNull() && !s.path("OS-EXT-SRV-ATTR:host").asText().isEmpty()) {
                        tPlaced = now;
                    }
                    if ("ACTIVE".equals(s.path("status").asText())) {
                        tActive = now;
                    }
                    if (tElected == 0) {
                        for (Controller c : controllers) {
                            String h = c == leader ? null : health(http, c);
                            if (h != null && h.contains("\"leader\":true")) {
                                tElected = now;
                            }
                        }
                    }
                    if (now - t0 > TimeUnit.SECONDS.toNanos(60)) {
                        throw new IllegalStateException("server " + id + " not ACTIVE 60 s after the kill");
                    }
                    Thread.sleep(20);
                }
                elected.add((tElected - t0) / 1e6);
                placed.add((tPlaced - t0) / 1e6);
                active.add((tActive - t0) / 1e6);
                System.out.printf("trial %d: new leader %.0f ms, server placed by it %.0f ms, ACTIVE %.0f ms after the kill -9%n", t,
                        (tElected - t0) / 1e6, (tPlaced - t0) / 1e6, (tActive - t0) / 1e6);
                leader.process()[0].waitFor(30, TimeUnit.SECONDS);
                start(leader, jar, dir.resolve("restart-" + t + ".log"));
                awaitHealth(http, leader, Duration.ofSeconds(120));
            }
            System.out.println("kill -9 of the leader (lease TTL 4 s, the default) ->");
            System.out.println("  another controller leads: " + elected.summary(" ms"));
            System.out.println("  first reconcile by it (a server created right after the kill is placed): " + placed.summary(" ms"));
            System.out.println("  that server ACTIVE: " + active.summary(" ms"));
        } finally {
            if (agent != null) {
                agent.close();
            }
            for (Controller c : controllers) {
                if (c.process()[0] != null) {
                    c.process()[0].destroyForcibly();
                }
            }
            Files2.deleteTree(dir);
        }
        System.exit(0);
    }

    static void start(Controller c, Path jar, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        c.process()[0] = new ProcessBuilder(java, "-Xmx256m", "-jar", jar.toString(), "serve", "--config", c.config().toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static String health(HttpClient http, Controller c) {
        try {
            var r = http.send(HttpRequest.newBuilder(URI.create(c.url() + "/halcyon/v1/health")).timeout(Duration.ofSeconds(1)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body().replace(" ", "") : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    static void awaitHealth(HttpClient http, Controller c, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (health(http, c) == null) {
            if (System.nanoTime() > deadline || !c.process()[0].isAlive()) {
                throw new IllegalStateException("controller on port " + c.port() + " did not come up");
            }
            Thread.sleep(100);
        }
    }
}
