package io.halcyon.bench;

import io.halcyon.testkit.Files2;
import io.halcyon.testkit.GuestProcesses;
import io.halcyon.testkit.Ports;
import io.halcyon.testkit.TinyImage;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Resident memory of the all-in-one process (controller and agent in one JVM, the packaged jar
 * with its default heap settings), idle and with 10 running guests. Guests are separate QEMU
 * processes; their memory is reported beside it, not in it.
 */
public final class MemoryBench {
    public static void main(String[] args) throws Exception {
        Path root = Path.of(System.getProperty("halcyon.root", ".")).toAbsolutePath();
        Path jar = root.resolve("halcyon-cli/target/halcyon.jar");
        Path dir = Files.createTempDirectory("halcyon-bench-mem");
        Path image = TinyImage.ensure(root, dir);
        int port = Ports.free();
        int agentPort = Ports.free();
        Path config = dir.resolve("halcyon.yaml");
        Files.writeString(config, "controller:\n  dataDir: " + dir.resolve("data") + "\n  api: {port: " + port + "}\n  agentApi: {port: " + agentPort + "}\n"
                + "  adminPassword: bench-password\n  agentToken: bench-agent-token-000\n  quotas: {instances: 20}\n"
                + "  bootstrap:\n    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n"
                + "agent:\n  name: mem\n  controllers: [\"http://127.0.0.1:" + agentPort + "\"]\n  agentToken: bench-agent-token-000\n"
                + "  dataDir: " + dir.resolve("agent") + "\n  accel: tcg\n  stopTimeout: 1s\n");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString(), "serve",
                "--config", config.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("log.txt").toFile()).start();
        try {
            var http = HttpClient.newHttpClient();
            BenchApi api = null;
            for (int i = 0; i < 600 && api == null; i++) {
                try {
                    api = new BenchApi(http, "http://127.0.0.1:" + port).login("admin", "bench-password", "admin");
                    if (!api.json("GET", "/halcyon/v1/health", null, 200).path("hostsUp").asText().equals("1")) {
                        api = null;
                    }
                } catch (IOException e) {
                    api = null;
                }
                if (api == null) {
                    Thread.sleep(200);
                }
            }
            if (api == null) {
                throw new IllegalStateException("the all-in-one did not come up; see " + dir.resolve("log.txt"));
            }
            Thread.sleep(5000);
            Stats idle = sample(p.pid(), 10);
            String img = api.imageId("tiny");
            var ids = new ArrayList<String>();
            for (int i = 0; i < 10; i++) {
                ids.add(api.createServer("m" + i, "1", img));
            }
            for (String id : ids) {
                while (!"ACTIVE".equals(api.json("GET", "/compute/v2.1/servers/" + id, null, 200).path("server").path("status").asText())) {
                    Thread.sleep(200);
                }
            }
            Thread.sleep(10_000);
            Stats busy = sample(p.pid(), 10);
            long qemuKb = 0;
            for (long pid : GuestProcesses.all(dir.resolve("agent"))) {
                qemuKb += rssKb(pid);
            }
            System.out.println("memory benchmark: all-in-one java -jar halcyon.jar (default JVM heap settings), sqlite, TCG guests");
            System.out.println("  idle                   RSS " + idle.summary(" MiB"));
            System.out.println("  10 guests ACTIVE       RSS " + busy.summary(" MiB"));
            System.out.printf("  (the 10 QEMU processes themselves: %.0f MiB RSS in total, outside the cloud's process)%n", qemuKb / 1024.0);
            for (String id : ids) {
                api.json("DELETE", "/compute/v2.1/servers/" + id, null, 204);
            }
        } finally {
            p.destroy();
            p.waitFor(30, TimeUnit.SECONDS);
            GuestProcesses.killAll(dir.resolve("agent"));
            Files2.deleteTree(dir);
        }
        System.exit(0);
    }

    static Stats sample(long pid, int n) throws Exception {
        var s = new Stats();
        for (int i = 0; i < n; i++) {
            s.add(rssKb(pid) / 1024.0);
            Thread.sleep(1000);
        }
        return s;
    }

    static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

}
