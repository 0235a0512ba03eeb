package io.halcyon.bench;

import io.halcyon.agent.ControllerClient;
import io.halcyon.model.agent.HostRegistration;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.Flood;
import io.halcyon.testkit.Ports;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Logins and host-lease renewals while the public API is flooded, against the same figures idle.
 * The controller runs as the packaged jar with the all-in-one's heap (768 MiB) and TLS on both
 * listeners, as {@code ./halcyon up} runs it (a CA and certificate made with openssl). A host registered
 * by the benchmark renews its lease on the agents' listener every 200 ms, as agents do, and a
 * client logs in as the admin every 250 ms; each phase runs for {@code seconds}:
 * <ol>
 *   <li>idle;</li>
 *   <li>250 connections sending a body a byte every 5 s;</li>
 *   <li>200 clients posting wrong passwords for the admin as fast as they are answered;</li>
 *   <li>both at once.</li>
 * </ol>
 * Attackers come from their own loopback addresses (127.0.0.2 and up), the honest client from
 * 127.0.0.1. Usage: bench/run.sh flood [SECONDS] [RUNS] (default 30 3): medians of each run's
 * p50 and p99 are printed, with the controller's largest RSS.
 */
public final class FloodBench {
    record Phase(String name, boolean slow, boolean guesses) {
    }

    record Figures(double loginP50, double loginP99, double loginMax, double renewP50, double renewP99, double renewMax, long failedLogins,
                   long failedRenewals, long rssMiB) {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path root = Path.of(System.getProperty("halcyon.root", ".")).toAbsolutePath();
        Path jar = root.resolve("halcyon-cli/target/halcyon.jar");
        Path dir = Files.createTempDirectory("halcyon-bench-flood");
        int port = Ports.free();
        int agentPort = Ports.free();
        Path config = dir.resolve("halcyon.yaml");
        Path ca = certificates(dir);
        Files.writeString(config, "controller:\n  dataDir: " + dir.resolve("data") + "\n  api: {port: " + port + "}\n"
                + "  agentApi: {port: " + agentPort + "}\n  adminPassword: bench-password\n  agentToken: bench-agent-token-000\n"
                + "  tls: {certificate: " + dir.resolve("server.pem") + ", key: " + dir.resolve("server.key") + ", ca: " + ca + "}\n");
        tls = io.halcyon.http.Tls.client(ca);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx768m",
                "-XX:+ExitOnOutOfMemoryError", "-jar", jar.toString(), "serve", "--config", config.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("log.txt").toFile()).start();
        try {
            var http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).sslContext(tls).build();
            for (int i = 0; i < 600 && login(http, port) < 0; i++) {
                Thread.sleep(200);
            }
            var phases = List.of(new Phase("idle", false, false), new Phase("slow bodies (250 connections)", true, false),
                    new Phase("wrong passwords (200 clients)", false, true), new Phase("both floods", true, true));
            var results = new java.util.LinkedHashMap<String, List<Figures>>();
            for (int run = 0; run < runs; run++) {
                for (Phase ph : phases) {
                    // fresh attacker addresses each phase: what the throttle learned of the last ones does not carry over
                    results.computeIfAbsent(ph.name(), k -> new java.util.ArrayList<>()).add(phase(ph, seconds, http, port, agentPort, p.pid()));
                }
            }
            System.out.printf("flood benchmark: %d s per phase, %d runs, controller = packaged jar with -Xmx768m, sqlite store; "
                    + "medians over runs of each run's percentile%n", seconds, runs);
            System.out.printf("%-32s %28s %28s %8s%n", "", "admin login (ms) p50 / p99 / max", "lease renewal (ms) p50 / p99 / max",
                    "RSS MiB");
            Figures idle = null;
            for (var e : results.entrySet()) {
                Figures m = median(e.getValue());
                if (idle == null) {
                    idle = m;
                }
                System.out.printf("%-32s %10.0f / %6.0f / %6.0f %12.1f / %6.1f / %6.1f %8d%s%n", e.getKey(), m.loginP50(), m.loginP99(),
                        m.loginMax(), m.renewP50(), m.renewP99(), m.renewMax(), m.rssMiB(),
                        m.failedLogins() + m.failedRenewals() == 0 ? "" : "  (failed: " + m.failedLogins() + " logins, " + m.failedRenewals()
                                + " renewals)");
            }
            Figures both = median(results.get("both floods"));
            System.out.printf("under both floods / idle: login p99 %.1fx, renewal p99 %.1fx%n", both.loginP99() / idle.loginP99(),
                    both.renewP99() / idle.renewP99());
        } finally {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            Files2.deleteTree(dir);
        }
    }

    private static int nextAddresses = 0;
    private static javax.net.ssl.SSLContext tls;
    private static Path caFile;

    /** A CA and a certificate for 127.0.0.1 signed by it, as ./halcyon up makes them; returns the CA's file. */
    static Path certificates(Path dir) throws Exception {
        run(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-subj",
                "/CN=bench CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout",
                "ca.key", "-out", "ca.pem");
        run(dir, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=bench", "-keyout",
                "server.key", "-out", "server.csr");
        Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        run(dir, "openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
                "-extfile", "server.ext", "-out", "server.pem");
        caFile = dir.resolve("ca.pem");
        return caFile;
    }

    static void run(Path dir, String... argv) throws Exception {
        var p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile())
                .start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", argv) + " failed: " + Files.readString(dir.resolve("openssl.log")));
        }
    }

    static Figures phase(Phase ph, int seconds, HttpClient http, int port, int agentPort, long pid) throws Exception {
        var target = new InetSocketAddress("127.0.0.1", port);
        Flood slow = null;
        Flood guesses = null;
        if (ph.slow()) {
            slow = Flood.slowBodies(target, Flood.loopback(nextAddresses, 10), 250, "/identity/v3/auth/tokens", 100_000, Duration.ofSeconds(5), tls);
            nextAddresses += 10;
        }
        if (ph.guesses()) {
            guesses = Flood.wrongPasswords(target, Flood.loopback(nextAddresses, 20), 200, "admin", tls);
            nextAddresses += 20;
        }
        var logins = new Stats();
        var renewals = new Stats();
        long[] failed = new long[2];
        long maxRss = 0;
        var done = new AtomicBoolean();
        Thread renewer = new Thread(() -> renew(agentPort, renewals, failed, done), "renewer");
        renewer.start();
        try {
            Thread.sleep(2000);
            long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
            while (System.nanoTime() < end) {
                long ms = login(http, port);
                if (ms < 0) {
                    failed[0]++;
                } else {
                    logins.add(ms);
                }
                maxRss = Math.max(maxRss, rssMiB(pid));
                Thread.sleep(250);
            }
        } finally {
            done.set(true);
            renewer.join();
            if (slow != null) {
                slow.close();
            }
            if (guesses != null) {
                guesses.close();
            }
        }
        Thread.sleep(3000);
        return new Figures(logins.median(), logins.percentile(99), logins.percentile(100), renewals.median(), renewals.percentile(99),
                renewals.percentile(100), failed[0], failed[1], maxRss);
    }

    /** A host of the benchmark's own, renewing its lease every 200 ms on the agents' listener and timing each renewal. */
    static void renew(int agentPort, Stats renewals, long[] failed, AtomicBoolean done) {
        String host = "flood-" + UUID.randomUUID().toString().substring(0, 8);
        try {
            var client = new ControllerClient(List.of("https://127.0.0.1:" + agentPort), "bench-agent-token-000", ControllerClient.http(caFile));
            var reg = client.register(new HostRegistration(host, 1, 1024, 10, 0, 0, 0, "tcg", "x86_64", "bench", "7.2.0", null, "bench",
                    UUID.randomUUID().toString(), 0));
            long seq = 0;
            while (!done.get()) {
                long t0 = System.nanoTime();
                try {
                    client.heartbeat(host, reg.leaseId(), ++seq, false, false, false, 0, Duration.ofSeconds(5));
                    renewals.add((System.nanoTime() - t0) / 1e6);
                } catch (IOException e) {
                    failed[1]++;
                }
                Thread.sleep(200);
            }
        } catch (Exception e) {
            throw new IllegalStateException("the benchmark's host could not renew its lease: " + e.getMessage(), e);
        }
    }

    /** One login as the admin: its time in ms, or -1 when it failed. */
    static long login(HttpClient http, int port) {
        String body = "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \"admin\", "
                + "\"domain\": {\"id\": \"default\"}, \"password\": \"bench-password\"}}}, \"scope\": {\"project\": {\"name\": \"admin\", "
                + "\"domain\": {\"id\": \"default\"}}}}}";
        long t0 = System.nanoTime();
        try {
            var r = http.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/identity/v3/auth/tokens"))
                    .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 201 ? (System.nanoTime() - t0) / 1_000_000 : -1;
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    static long rssMiB(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) >> 10;
            }
        }
        return 0;
    }

    static Figures median(List<Figures> runs) {
        return new Figures(med(runs, Figures::loginP50), med(runs, Figures::loginP99), med(runs, Figures::loginMax), med(runs, Figures::renewP50),
                med(runs, Figures::renewP99), med(runs, Figures::renewMax), (long) med(runs, f -> f.failedLogins()),
                (long) med(runs, f -> f.failedRenewals()), (long) med(runs, f -> f.rssMiB()));
    }

    static double med(List<Figures> runs, java.util.function.ToDoubleFunction<Figures> f) {
        var s = new Stats();
        runs.forEach(r -> s.add(f.applyAsDouble(r)));
        return s.median();
    }
}
