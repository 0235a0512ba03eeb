package io.halcyon.bench;

import io.halcyon.agent.AgentMain;
import io.halcyon.cli.HalcyonConfig;
import io.halcyon.config.ConfigLoader;
import io.halcyon.controller.ControllerMain;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.VmState;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.GuestProcesses;
import io.halcyon.testkit.Ports;
import io.halcyon.testkit.TinyImage;

import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Control-plane overhead of a boot: from the create request to ACTIVE, minus the time QEMU itself
 * took to start (exec to QMP "running", measured by the agent). An all-in-one (sqlite, one agent,
 * real QEMU under TCG) runs in this JVM; boots run one at a time after a short warm-up.
 */
public final class BootOverheadBench {
    public static void main(String[] args) throws Exception {
        int boots = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int warmup = 3;
        Path root = Path.of(System.getProperty("halcyon.root", "."));
        Path dir = Files.createTempDirectory("halcyon-bench-boot");
        Path image = TinyImage.ensure(root, dir);
        int port = Ports.free();
        int agentPort = Ports.free();
        String yaml = "controller:\n  dataDir: " + dir.resolve("data") + "\n  api: {port: " + port + "}\n  agentApi: {port: " + agentPort + "}\n"
                + "  adminPassword: bench-password\n  agentToken: bench-agent-token-000\n"
                + "  bootstrap:\n    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n"
                + "agent:\n  name: bench\n  controllers: [\"http://127.0.0.1:" + agentPort + "\"]\n  agentToken: bench-agent-token-000\n"
                + "  dataDir: " + dir.resolve("agent") + "\n  accel: tcg\n  stopTimeout: 1s\n";
        var cfg = ConfigLoader.parse("bench", yaml, HalcyonConfig.class);
        var active = new ConcurrentHashMap<String, Long>();
        var latches = new ConcurrentHashMap<String, CountDownLatch>();
        try (var controller = ControllerMain.start(cfg.controller()); var agent = AgentMain.start(cfg.agent())) {
            controller.resources().servers().addHandler((id, old, now) -> {
                if (now != null && now.value().status().vmState() == VmState.ACTIVE && (old == null
                        || old.value().status().vmState() != VmState.ACTIVE)) {
                    active.putIfAbsent(id, System.nanoTime());
                    var l = latches.get(id);
                    if (l != null) {
                        l.countDown();
                    }
                }
            });
            while (!controller.resources().hostUp("bench")) {
                Thread.sleep(50);
            }
            var api = new BenchApi(HttpClient.newHttpClient(), "http://127.0.0.1:" + port).login("admin", "bench-password", "admin");
            String img = api.imageId("tiny");
            var overhead = new Stats();
            var total = new Stats();
            var qemu = new Stats();
            for (int i = 0; i < warmup + boots; i++) {
                long t0 = System.nanoTime();
                var latch = new CountDownLatch(1);
                String id;
                synchronized (latches) {
                    id = api.createServer("b" + i, "1", img);
                    latches.put(id, latch);
                    if (active.containsKey(id)) {
                        latch.countDown();
                    }
                }
                if (!latch.await(120, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("server " + id + " did not become ACTIVE");
                }
                Server s = controller.resources().servers().get(id).orElseThrow().value();
                double totalMs = (active.get(id) - t0) / 1e6;
                long qemuMs = s.status().qemuStartMillis();
                if (i >= warmup) {
                    total.add(totalMs);
                    qemu.add(qemuMs);
                    overhead.add(totalMs - qemuMs);
                }
                api.json("DELETE", "/compute/v2.1/servers/" + id, null, 204);
                while (controller.resources().servers().get(id).isPresent()) {
                    Thread.sleep(20);
                }
            }
            System.out.println("boot benchmark: all-in-one, sqlite store, QEMU " + "TCG, m1.tiny, " + boots + " boots after " + warmup + " warm-up");
            System.out.println("  create -> ACTIVE        " + total.summary(" ms"));
            System.out.println("  QEMU exec -> running    " + qemu.summary(" ms"));
            System.out.println("  control-plane overhead  " + overhead.summary(" ms") + "   (goal: < 300 ms)");
        } finally {
            GuestProcesses.killAll(dir.resolve("agent"));
            Files2.deleteTree(dir);
        }
        System.exit(0);
    }

}
