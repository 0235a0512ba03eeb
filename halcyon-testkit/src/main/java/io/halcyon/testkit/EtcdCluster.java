package io.halcyon.testkit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd cluster of N members (Debian's etcd-server) on loopback ports picked at start. A
 * member can be killed (SIGKILL) and started again with its data, as a node that crashed and came
 * back. Stopped by the members' own PIDs.
 */
public final class EtcdCluster implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EtcdCluster.class);

    private final Path dir;
    private final int[] clientPorts;
    private final int[] peerPorts;
    private final Process[] members;
    private final String initialCluster;

    private EtcdCluster(Path dir, int n) {
        this.dir = dir;
        clientPorts = new int[n];
        peerPorts = new int[n];
        members = new Process[n];
        var cluster = new ArrayList<String>();
        for (int i = 0; i < n; i++) {
            clientPorts[i] = Ports.free();
            peerPorts[i] = Ports.free();
            cluster.add("m" + i + "=http://127.0.0.1:" + peerPorts[i]);
        }
        initialCluster = String.join(",", cluster);
    }

    public static EtcdCluster start(Path workDir, int n) {
        Binaries.require("etcd", "etcd-server");
        Path dir;
        try {
            Files.createDirectories(workDir);
            dir = Files.createTempDirectory(workDir, "etcd-cluster");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var c = new EtcdCluster(dir, n);
        try {
            for (int i = 0; i < n; i++) {
                c.launch(i, "new");
            }
            for (int i = 0; i < n; i++) {
                if (!c.awaitHealthy(i, Duration.ofSeconds(30))) {
                    throw new IllegalStateException("etcd member " + i + " did not become healthy; see " + dir.resolve("m" + i + ".log"));
                }
            }
            log.info("event=etcd_cluster_started members={} endpoints={}", n, c.endpoints());
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private void launch(int i, String state) {
        var cmd = List.of("etcd", "--name", "m" + i, "--data-dir", dir.resolve("m" + i).toString(),
                "--listen-client-urls", "http://127.0.0.1:" + clientPorts[i],
                "--advertise-client-urls", "http://127.0.0.1:" + clientPorts[i],
                "--listen-peer-urls", "http://127.0.0.1:" + peerPorts[i],
                "--initial-advertise-peer-urls", "http://127.0.0.1:" + peerPorts[i],
                "--initial-cluster", initialCluster, "--initial-cluster-state", state,
                "--initial-cluster-token", "halcyon-" + dir.getFileName(),
                "--heartbeat-interval", "100", "--election-timeout", "1000",
                "--log-level", "warn", "--logger", "zap");
        try {
            var pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("m" + i + ".log").toFile()));
            pb.environment().put("ETCD_UNSUPPORTED_ARCH", "");
            members[i] = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start etcd member " + i, e);
        }
    }

    /** The client URLs of every member, as controllers take them. */
    public List<String> endpoints() {
        var out = new ArrayList<String>();
        for (int p : clientPorts) {
            out.add("http://127.0.0.1:" + p);
        }
        return out;
    }

    public int size() {
        return members.length;
    }

    public boolean running(int i) {
        return members[i] != null && members[i].isAlive();
    }

    /** SIGKILL of one member, as a crashed node. */
    public void kill(int i) {
        if (members[i] != null) {
            members[i].destroyForcibly();
            try {
                members[i].waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            log.info("event=etcd_member_killed member={}", i);
        }
    }

    /** Starts a killed member again with its data; it rejoins the cluster. */
    public void restart(int i) {
        if (running(i)) {
            return;
        }
        launch(i, "existing");
        log.info("event=etcd_member_restarted member={}", i);
    }

    /** Whether the member answers its health check (which needs a quorum) within {@code within}. */
    public boolean awaitHealthy(int i, Duration within) {
        return awaitHealthy(members[i], "http://127.0.0.1:" + clientPorts[i], within);
    }

    /** Polls an etcd's /health until it reports healthy, the process dies, or time runs out. */
    static boolean awaitHealthy(Process process, String endpoint, Duration within) {
        var http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if (process == null || !process.isAlive()) {
                return false;
            }
            try {
                var r = http.send(HttpRequest.newBuilder(URI.create(endpoint + "/health")).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains("\"true\"")) {
                    return true;
                }
            } catch (IOException e) {
                // not listening yet, or no quorum
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            try {
                process.waitFor(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    @Override
    public void close() {
        for (int i = 0; i < members.length; i++) {
            if (members[i] != null) {
                members[i].destroyForcibly();
            }
        }
        for (Process p : members) {
            if (p != null) {
                try {
                    p.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        Files2.deleteTree(dir);
    }
}
