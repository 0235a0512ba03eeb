package io.halcyon.bench;

import io.halcyon.agent.AgentMain;
import io.halcyon.cli.HalcyonConfig;
import io.halcyon.config.ConfigLoader;
import io.halcyon.controller.ControllerMain;
import io.halcyon.testkit.DiskProbe;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.GuestProcesses;
import io.halcyon.testkit.Ports;
import io.halcyon.testkit.TinyImage;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Block storage benchmarks on an all-in-one (sqlite, one agent, QEMU under TCG) in this JVM.
 * <ul>
 * <li>{@code volumes}: 50 volumes from a 1 GiB image (1 GiB of random data, qcow2) through the
 * API, create request to all available, and the disk space they take; against {@code qemu-img
 * convert} full copies of the same image, the way a backend without overlays makes a volume.</li>
 * <li>{@code hotplug}: attach request to the disk being visible in a running guest (its console
 * shows the disk probe's line), and detach request to the disk gone, 20 times each.</li>
 * </ul>
 */
public final class VolumeBench {
    private static final long GIB = 1L << 30;

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "volumes";
        Path root = Path.of(System.getProperty("halcyon.root", "."));
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("halcyon.benchDir", "/var/tmp")), "halcyon-bench-volumes");
        try {
            switch (mode) {
                case "volumes" -> volumes(root, dir, args.length > 1 ? Integer.parseInt(args[1]) : 5);
                case "hotplug" -> hotplug(root, dir, args.length > 1 ? Integer.parseInt(args[1]) : 20);
                default -> throw new IllegalArgumentException("usage: VolumeBench volumes|hotplug [runs]");
            }
        } finally {
            GuestProcesses.killAll(dir.resolve("agent"));
            Files2.deleteTree(dir);
        }
        System.exit(0);
    }

    static String yaml(Path dir, int port, Path image, String imageName, boolean withAgent) {
        int agentPort = Ports.free();
        String y = "controller:\n  dataDir: " + dir.resolve("data") + "\n  api: {port: " + port + "}\n  agentApi: {port: " + agentPort + "}\n"
                + "  adminPassword: bench-password\n  agentToken: bench-agent-token-000\n"
                + "  quotas: {volumes: 200, gigabytes: 100000, snapshots: 200}\n"
                + "  bootstrap:\n    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                + "    images: [{name: " + imageName + ", file: " + image + ", diskFormat: qcow2}]\n";
        if (withAgent) {
            y += "agent:\n  name: bench\n  controllers: [\"http://127.0.0.1:" + agentPort + "\"]\n  agentToken: bench-agent-token-000\n"
                    + "  dataDir: " + dir.resolve("agent") + "\n  accel: tcg\n  stopTimeout: 1s\n";
        }
        return y;
    }

    static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(1, TimeUnit.HOURS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + out);
        }
        return out;
    }

    static long du(Path p) throws IOException, InterruptedException {
        return Long.parseLong(run(List.of("du", "-s", "-B1", p.toString())).trim().split("\\s+")[0]);
    }

    static String projectVolumes(BenchApi api) {
        return "/volume/v3/" + api.projectId() + "/volumes";
    }

    static String awaitStatus(BenchApi api, String path, String want, long timeoutMs) throws Exception {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (System.nanoTime() < deadline) {
            String st = api.json("GET", path, null, 200).path("volume").path("status").asText();
            if (st.equals(want)) {
                return st;
            }
            if (st.startsWith("error")) {
                throw new IllegalStateException(path + " went to " + st);
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException(path + " did not become " + want);
    }

    static void volumes(Path root, Path dir, int runs) throws Exception {
        // 1 GiB of random data, so neither side can skip zeroes
        Path raw = dir.resolve("big.raw");
        Path image = dir.resolve("big.qcow2");
        run(List.of("sh", "-c", "head -c " + GIB + " /dev/urandom > " + raw));
        run(List.of("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), image.toString()));
        Files.delete(raw);
        int port = Ports.free();
        var cfg = ConfigLoader.parse("bench", yaml(dir, port, image, "big", false), HalcyonConfig.class);
        int count = 50;
        Path storage = dir.resolve("data").resolve("storage").resolve("file");
        var halcyonTime = new Stats();
        var halcyonSpace = new Stats();
        var copyTime = new Stats();
        var copySpace = new Stats();
        double firstMs;
        try (var controller = ControllerMain.start(cfg.controller())) {
            var api = new BenchApi(HttpClient.newHttpClient(), "http://127.0.0.1:" + port).login("admin", "bench-password", "admin");
            String img = api.imageId("big");
            String vols = projectVolumes(api);
            // the first volume from an image also makes the image's base on the backend (one copy, once)
            long t0 = System.nanoTime();
            String first = api.json("POST", vols, Map.of("volume", Map.of("size", 1, "imageRef", img)), 202).path("volume").path("id").asText();
            awaitStatus(api, vols + "/" + first, "available", 600_000);
            firstMs = (System.nanoTime() - t0) / 1e6;
            api.json("DELETE", vols + "/" + first, null, 202);
            for (int r = 0; r < runs; r++) {
                long volumesBefore = du(storage.resolve("volumes"));
                long start = System.nanoTime();
                var ids = new ArrayList<String>();
                for (int i = 0; i < count; i++) {
                    ids.add(api.json("POST", vols, Map.of("volume", Map.of("size", 1, "imageRef", img)), 202).path("volume").path("id").asText());
                }
                for (String id : ids) {
                    awaitStatus(api, vols + "/" + id, "available", 600_000);
                }
                halcyonTime.add((System.nanoTime() - start) / 1e6);
                halcyonSpace.add((du(storage.resolve("volumes")) - volumesBefore) / (double) (1 << 20));
                for (String id : ids) {
                    api.json("DELETE", vols + "/" + id, null, 202);
                }
                for (String id : ids) {
                    while (api.send("GET", vols + "/" + id, null).statusCode() != 404) {
                        Thread.sleep(5);
                    }
                }
            }
        }
        // the baseline: full copies of the same image; 1 GiB each, so a few are timed and the 50 extrapolated
        for (int r = 0; r < runs; r++) {
            Path copy = dir.resolve("copy-" + r + ".qcow2");
            run(List.of("sync"));
            long start = System.nanoTime();
            run(List.of("qemu-img", "convert", "-f", "qcow2", "-O", "qcow2", image.toString(), copy.toString()));
            run(List.of("sync", copy.toString()));
            copyTime.add((System.nanoTime() - start) / 1e6);
            copySpace.add(du(copy) / (double) (1 << 20));
            Files.delete(copy);
        }
        double h = halcyonTime.median();
        double c = copyTime.median() * count;
        double hs = halcyonSpace.median();
        double cs = copySpace.median() * count;
        System.out.printf("volume benchmark: %d volumes from a 1 GiB image (1 GiB of random data, qcow2), file backend, %d runs%n", count, runs);
        System.out.printf("  first volume of the image (makes its base)   %.0f ms%n", firstMs);
        System.out.printf("  Halcyon, 50 volumes, request -> available    %s%n", halcyonTime.summary(" ms"));
        System.out.printf("  Halcyon, 50 volumes, disk space              %s%n", halcyonSpace.summary(" MiB"));
        System.out.printf("  qemu-img convert, one full copy              %s%n", copyTime.summary(" ms"));
        System.out.printf("  qemu-img convert, one full copy, disk space  %s%n", copySpace.summary(" MiB"));
        System.out.printf("  50 full copies (50 x median)                 %.0f ms, %.0f MiB%n", c, cs);
        System.out.printf("  ratio full copies / Halcyon                  time %.0fx, space %.0fx%n", c / h, cs / hs);
    }

    static void hotplug(Path root, Path dir, int n) throws Exception {
        Path image = TinyImage.ensure(root, dir);
        int port = Ports.free();
        var cfg = ConfigLoader.parse("bench", yaml(dir, port, image, "tiny", true), HalcyonConfig.class);
        var attach = new Stats();
        var detach = new Stats();
        var attachCall = new Stats();
        try (var controller = ControllerMain.start(cfg.controller()); var agent = AgentMain.start(cfg.agent())) {
            while (!controller.resources().hostUp("bench")) {
                Thread.sleep(50);
            }
            var api = new BenchApi(HttpClient.newHttpClient(), "http://127.0.0.1:" + port).login("admin", "bench-password", "admin");
            String vols = projectVolumes(api);
            String userData = Base64.getEncoder().encodeToString(DiskProbe.script(null, null, 2_000).getBytes(StandardCharsets.UTF_8));
            String server = api.json("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "hp", "flavorRef", "1",
                    "imageRef", api.imageId("tiny"), "user_data", userData)), 202).path("server").path("id").asText();
            Path console = dir.resolve("agent").resolve("guests").resolve(server).resolve("console.log");
            awaitLine(console, 0, Pattern.compile("user-data: |halcyon-guest: ready"), 120_000);
            Thread.sleep(2000); // let the guest settle after boot
            var ids = new ArrayList<String>();
            for (int i = 0; i < 3 + n; i++) {
                ids.add(api.json("POST", vols, Map.of("volume", Map.of("size", 1)), 202).path("volume").path("id").asText());
            }
            for (String id : ids) {
                awaitStatus(api, vols + "/" + id, "available", 60_000);
            }
            for (int i = 0; i < ids.size(); i++) {
                String id = ids.get(i);
                String serial = id.substring(0, 20);
                long from = Files.size(console);
                long t0 = System.nanoTime();
                CompletableFuture<Long> call = CompletableFuture.supplyAsync(() -> {
                    try {
                        api.json("POST", "/compute/v2.1/servers/" + server + "/os-volume_attachments",
                                Map.of("volumeAttachment", Map.of("volumeId", id)), 200);
                        return System.nanoTime();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                long seen = awaitLine(console, from, Pattern.compile("disk\\+ " + Pattern.quote(serial) + " "), 60_000);
                long answered = call.get(60, TimeUnit.SECONDS);
                awaitStatus(api, vols + "/" + id, "in-use", 60_000);
                from = Files.size(console);
                long t1 = System.nanoTime();
                api.json("DELETE", "/compute/v2.1/servers/" + server + "/os-volume_attachments/" + id, null, 202);
                long gone = awaitLine(console, from, Pattern.compile("disk- " + Pattern.quote(serial)), 60_000);
                awaitStatus(api, vols + "/" + id, "available", 60_000);
                if (i >= 3) {
                    attach.add((seen - t0) / 1e6);
                    attachCall.add((answered - t0) / 1e6);
                    detach.add((gone - t1) / 1e6);
                }
            }
        }
        System.out.printf("hot-plug benchmark: all-in-one, QEMU TCG, tiny guest polling its disks every 2 ms, %d attach/detach after 3 warm-up%n", n);
        System.out.printf("  attach request -> disk visible in the guest   %s%n", attach.summary(" ms"));
        System.out.printf("  attach request -> API answers (volume in-use) %s%n", attachCall.summary(" ms"));
        System.out.printf("  detach request -> disk gone from the guest    %s%n", detach.summary(" ms"));
    }

    /** Polls the console file from {@code offset} until a line matches; returns the System.nanoTime() it was seen. */
    static long awaitLine(Path console, long offset, Pattern p, long timeoutMs) throws Exception {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (Files.exists(console)) {
                try (var f = new RandomAccessFile(console.toFile(), "r")) {
                    if (f.length() > offset) {
                        byte[] b = new byte[(int) (f.length() - offset)];
                        f.seek(offset);
                        f.readFully(b);
                        if (p.matcher(new String(b, StandardCharsets.UTF_8)).find()) {
                            return System.nanoTime();
                        }
                    }
                }
            }
            Thread.sleep(1);
        }
        throw new IllegalStateException("no line matching " + p + " in " + console);
    }
}
