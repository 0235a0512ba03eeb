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

    record Controller(int port, int agentPort, Path config, Process[] process) {
        String url() {
            return "http://127.0.0.1:" + port;
        }
    }

    public static void main(String[] args) throws Exception {
        boolean rolling = args.length > 0 && args[0].equals("rolling");
        int trials = args.length > (rolling ? 1 : 0) ? Integer.parseInt(args[rolling ? 1 : 0]) : (rolling ? 3 : 20);
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
                int agentPort = Ports.free();
                Path cfg = dir.resolve("c" + i + ".yaml");
                Files.writeString(cfg, "controller:\n  dataDir: " + dir.resolve("data") + "\n  api: {port: " + port + "}\n  agentApi: {port: " + agentPort + "}\n"
                        + "  store: {backend: etcd, etcdEndpoints: [\"" + String.join("\", \"", etcd.endpoints()) + "\"]}\n"
                        + "  adminPassword: bench-password\n  agentToken: bench-agent-token-000\n"
                        + "  secretKeyFile: " + dir.resolve("secret.key") + "\n"
                        + "  quotas: {instances: 1000, cores: 1000, ram: 1000000}\n"
                        + "  bootstrap:\n    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                        + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n");
                var c = new Controller(port, agentPort, cfg, new Process[1]);
                start(c, jar, dir.resolve("c" + i + ".log"));
                controllers.add(c);
            }
            for (Controller c : controllers) {
                awaitHealth(http, c, Duration.ofSeconds(120));
            }
            var urls = controllers.stream().map(c -> "http://127.0.0.1:" + c.agentPort()).toList();
            String agentYaml = "agent:\n  name: sim1\n  controllers: [\"" + String.join("\", \"", urls) + "\"]\n"
                    + "  agentToken: bench-agent-token-000\n  dataDir: " + dir.resolve("agent") + "\n  driver: simulated\n  pollWait: 5s\n";
            agent = AgentMain.start(ConfigLoader.parse("bench", agentYaml, HalcyonConfig.class).agent());
            if (rolling) {
                rolling(root, dir, jar, http, controllers, trials);
                return;
            }
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

    /**
     * Rolling restarts of all three controllers (SIGTERM, start again, wait until healthy) under
     * 20 requests a second through HAProxy (nine list reads to one create): the share that failed.
     */
    static void rolling(Path root, Path dir, Path jar, HttpClient http, java.util.List<Controller> controllers, int rounds)
            throws Exception {
        var addresses = controllers.stream().map(c -> "127.0.0.1:" + c.port()).toList();
        try (var proxy = io.halcyon.testkit.Haproxy.start(root, dir.resolve("haproxy"), addresses)) {
            var api = new BenchApi(http, proxy.url()).login("admin", "bench-password", "admin");
            String img = api.imageId("tiny");
            var total = new java.util.concurrent.atomic.AtomicLong();
            var failed = new java.util.concurrent.atomic.AtomicLong();
            var failures = new java.util.concurrent.ConcurrentLinkedQueue<String>();
            var stop = new java.util.concurrent.atomic.AtomicBoolean();
            var load = new Thread(() -> {
                long next = System.nanoTime();
                int n = 0;
                while (!stop.get()) {
                    n++;
                    total.incrementAndGet();
                    try {
                        var r = n % 10 == 0
                                ? api.send("POST", "/compute/v2.1/servers", java.util.Map.of("server", java.util.Map.of("name", "r" + n,
                                        "flavorRef", "1", "imageRef", img)))
                                : api.send("GET", "/compute/v2.1/servers?limit=10", null);
                        if (r.statusCode() >= 300) {
                            failed.incrementAndGet();
                            failures.add(r.statusCode() + " " + r.body());
                        }
                    } catch (Exception e) {
                        failed.incrementAndGet();
                        failures.add(e.toString());
                    }
                    next += 50_000_000L;
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(wait);
                    }
                }
            }, "load");
            load.start();
            var perRound = new Stats();
            for (int round = 1; round <= rounds; round++) {
                long t0 = total.get();
                long f0 = failed.get();
                long start = System.nanoTime();
                for (Controller c : controllers) {
                    c.process()[0].destroy();
                    c.process()[0].waitFor(60, TimeUnit.SECONDS);
                    start(c, jar, dir.resolve("rolling-" + round + "-" + c.port() + ".log"));
                    awaitHealth(http, c, Duration.ofSeconds(120));
                    Thread.sleep(1500); // HAProxy's checks see it back before the next one goes
                }
                long n = total.get() - t0;
                long f = failed.get() - f0;
                perRound.add(100.0 * f / Math.max(1, n));
                System.out.printf("round %d: all three controllers restarted in %.1f s; %d requests, %d failed (%.2f %%)%n", round,
                        (System.nanoTime() - start) / 1e9, n, f, 100.0 * f / Math.max(1, n));
            }
            stop.set(true);
            load.join();
            System.out.printf("rolling restarts through HAProxy at 20 requests/s: %d requests, %d failed (%.3f %%); per round: %s%n",
                    total.get(), failed.get(), 100.0 * failed.get() / Math.max(1, total.get()), perRound.summary(" %"));
            failures.stream().limit(5).forEach(x -> System.out.println("  failure: " + x));
        }
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
