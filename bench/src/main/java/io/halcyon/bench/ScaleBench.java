package io.halcyon.bench;

import io.halcyon.agent.Agent;
import io.halcyon.agent.ControllerClient;
import io.halcyon.agent.ImageCache;
import io.halcyon.agent.sim.SimulatedDriver;
import io.halcyon.cli.HalcyonConfig;
import io.halcyon.config.ConfigLoader;
import io.halcyon.controller.ControllerMain;
import io.halcyon.model.agent.HostRegistration;
import io.halcyon.model.compute.VmState;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.Ports;

import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Control-plane scale: one controller (sqlite) and 1,000 simulated hosts (real agents and agent
 * API, guests that exist only in memory) in this JVM; 32 clients create 10,000 servers through the
 * compute API across 10 projects. Prints the create rate, create latency, the time until every
 * server is ACTIVE, and the latency of GET /servers/detail for a project with 1,000 servers. The
 * hosts renew their leases every second (the production default) unless told otherwise:
 * {@code scale HOSTS SERVERS CLIENTS RENEW_SECONDS}.
 */
public final class ScaleBench {
    public static void main(String[] args) throws Exception {
        int hosts = intArg(args, 0, 1000);
        int servers = intArg(args, 1, 10_000);
        int clients = intArg(args, 2, 32);
        int projects = 10;
        int renew = intArg(args, 3, 1);
        Path dir = Files.createTempDirectory("halcyon-bench-scale");
        int port = Ports.free();
        int agentPort = Ports.free();
        String yaml = "controller:\n  dataDir: " + dir.resolve("data") + "\n  api: {port: " + port + ", threads: 400}\n"
                // the simulated hosts all come from 127.0.0.1
                + "  agentApi: {port: " + agentPort + ", threads: 400, maxConnections: 16384, perClient: 16384}\n"
                + "  adminPassword: bench-password\n  agentToken: bench-agent-token-000\n"
                + "  hostLeaseTtl: " + 5 * renew + "s\n  hostRenewInterval: " + renew + "s\n  ha: {suspectAfter: " + 2 * renew
                + "s, selfFenceTimeout: " + 4 * renew + "s}\n"
                + "  bootstrap:\n    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n";
        var cfg = ConfigLoader.parse("bench", yaml, HalcyonConfig.class);
        String base = "http://127.0.0.1:" + port;
        var http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        var workers = Executors.newFixedThreadPool(16);
        var timers = Executors.newScheduledThreadPool(4);
        var agents = new ArrayList<Agent>();
        ControllerMain controller = ControllerMain.start(cfg.controller());
        try {
            long t = System.nanoTime();
            var client = new ControllerClient(List.of("http://127.0.0.1:" + agentPort), "bench-agent-token-000", http);
            var starters = Executors.newFixedThreadPool(16);
            var started = new CountDownLatch(hosts);
            for (int i = 0; i < hosts; i++) {
                String name = String.format("sim%04d", i);
                var reg = new HostRegistration(name, 32, 262_144, 4096, 0, 0, 0, "tcg", "x86_64", "simulated", "7.2.0", null, "bench",
                        UUID.randomUUID().toString());
                var agent = new Agent(new Agent.Settings(name, Duration.ofSeconds(30), Duration.ofSeconds(1), Duration.ofSeconds(1),
                        Duration.ofMinutes(10)), client, new SimulatedDriver(), new ImageCache(client), reg, workers, timers);
                synchronized (agents) {
                    agents.add(agent);
                }
                starters.execute(() -> {
                    try {
                        agent.start();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    started.countDown();
                });
            }
            started.await();
            starters.shutdown();
            while (controller.resources().hostLeases().size() < hosts) {
                Thread.sleep(100);
            }
            System.out.printf("setup: %d simulated hosts registered in %.1f s%n", hosts, (System.nanoTime() - t) / 1e9);

            var admin = new BenchApi(http, base).login("admin", "bench-password", "admin");
            String memberRole = admin.json("GET", "/identity/v3/roles?name=member", null, 200).path("roles").get(0).path("id").asText();
            for (int p = 0; p < projects; p++) {
                String pid = admin.json("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "bench" + p)), 201)
                        .path("project").path("id").asText();
                String uid = admin.json("POST", "/identity/v3/users", Map.of("user", Map.of("name", "user" + p, "password", "pw-bench",
                        "default_project_id", pid)), 201).path("user").path("id").asText();
                admin.json("PUT", "/identity/v3/projects/" + pid + "/users/" + uid + "/roles/" + memberRole, null, 204);
                admin.json("PUT", "/compute/v2.1/os-quota-sets/" + pid, Map.of("quota_set", Map.of("instances", -1, "cores", -1, "ram", -1)), 200);
            }
            admin.json("POST", "/image/v2/images", Map.of("name", "simimg", "disk_format", "raw", "container_format", "bare",
                    "visibility", "public", "id", "00000000-0000-0000-0000-00000000beef"), 201);
            admin.upload("/image/v2/images/00000000-0000-0000-0000-00000000beef/file", new byte[4096]);

            var created = new AtomicInteger();
            var latency = new Stats();
            var failures = new AtomicInteger();
            var pool = Executors.newFixedThreadPool(clients);
            var done = new CountDownLatch(clients);
            var apis = new ArrayList<BenchApi>();
            for (int c = 0; c < clients; c++) {
                apis.add(new BenchApi(http, base).login("user" + (c % projects), "pw-bench", "bench" + (c % projects)));
            }
            long start = System.nanoTime();
            var progress = Executors.newSingleThreadScheduledExecutor();
            progress.scheduleAtFixedRate(() -> {
                long unplaced = 0;
                long spawning = 0;
                long act = 0;
                for (var v : controller.resources().servers().list()) {
                    var st = v.value().status();
                    if (st.vmState() == VmState.ACTIVE) {
                        act++;
                    } else if (st.host() == null) {
                        unplaced++;
                    } else {
                        spawning++;
                    }
                }
                System.out.printf("  t=%4.0fs servers=%d unplaced=%d placed-not-active=%d active=%d%n", (System.nanoTime() - start) / 1e9,
                        unplaced + spawning + act, unplaced, spawning, act);
            }, 5, 5, java.util.concurrent.TimeUnit.SECONDS);
            for (int c = 0; c < clients; c++) {
                BenchApi api = apis.get(c);
                pool.execute(() -> {
                    try {
                        while (created.getAndIncrement() < servers) {
                            long t0 = System.nanoTime();
                            try {
                                api.createServer("s", "1", "00000000-0000-0000-0000-00000000beef");
                                latency.add((System.nanoTime() - t0) / 1e6);
                            } catch (Exception e) {
                                failures.incrementAndGet();
                            }
                        }
                    } finally {
                        done.countDown();
                    }
                });
            }
            done.await();
            double createSeconds = (System.nanoTime() - start) / 1e9;
            pool.shutdown();
            long activeDeadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            long active;
            while (true) {
                active = controller.resources().servers().list().stream().filter(v -> v.value().status().vmState() == VmState.ACTIVE).count();
                if (active >= servers - failures.get() || System.nanoTime() > activeDeadline) {
                    break;
                }
                Thread.sleep(100);
            }
            double allActiveSeconds = (System.nanoTime() - start) / 1e9;
            progress.shutdownNow();

            var list = new Stats();
            BenchApi reader = apis.get(0);
            int count = 0;
            for (int i = 0; i < 110; i++) {
                long t0 = System.nanoTime();
                var r = reader.json("GET", "/compute/v2.1/servers/detail", null, 200);
                double ms = (System.nanoTime() - t0) / 1e6;
                count = r.path("servers").size();
                if (i >= 10) {
                    list.add(ms);
                }
            }
            System.out.printf("scale benchmark: %d hosts (simulated driver) renewing every %d s, %d servers, %d clients, %d projects, "
                    + "sqlite store%n", hosts, renew, servers, clients, projects);
            System.out.printf("  create: %.0f servers/s (%d in %.1f s, %d failed)   (goal: 500 servers/s)%n", servers / createSeconds, servers,
                    createSeconds, failures.get());
            System.out.println("  create latency         " + latency.summary(" ms"));
            System.out.printf("  all ACTIVE after %.1f s (%d ACTIVE)%n", allActiveSeconds, active);
            System.out.println("  GET /servers/detail (" + count + " servers) " + list.summary(" ms") + "   (goal: p99 < 100 ms)");
        } finally {
            agents.forEach(Agent::close);
            workers.shutdownNow();
            timers.shutdownNow();
            controller.close();
            Files2.deleteTree(dir);
        }
        System.exit(0);
    }

    private static int intArg(String[] args, int i, int dflt) {
        return args.length > i ? Integer.parseInt(args[i]) : dflt;
    }
}
