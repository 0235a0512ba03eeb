package io.halcyon.testkit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real single-member etcd (Debian's etcd-server) on loopback ports picked at start, with its data
 * in a directory the caller owns. Stopped by its own PID.
 */
public final class EtcdProcess implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EtcdProcess.class);

    private final Process process;
    private final int clientPort;
    private final Path dataDir;

    private EtcdProcess(Process process, int clientPort, Path dataDir) {
        this.process = process;
        this.clientPort = clientPort;
        this.dataDir = dataDir;
    }

    public static EtcdProcess start(Path workDir) {
        Path etcd = Binaries.require("etcd", "etcd-server");
        IllegalStateException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int client = Ports.free();
            int peer = Ports.free();
            Path data = workDir.resolve("etcd-" + client);
            var cmd = new ArrayList<>(List.of(etcd.toString(),
                    "--name", "t" + client,
                    "--data-dir", data.toString(),
                    "--listen-client-urls", "http://127.0.0.1:" + client,
                    "--advertise-client-urls", "http://127.0.0.1:" + client,
                    "--listen-peer-urls", "http://127.0.0.1:" + peer,
                    "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer,
                    "--initial-cluster", "t" + client + "=http://127.0.0.1:" + peer,
                    "--initial-cluster-state", "new",
                    "--log-level", "warn",
                    "--logger", "zap"));
            try {
                Files.createDirectories(workDir);
                var pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(workDir.resolve("etcd-" + client + ".log").toFile());
                pb.environment().put("ETCD_UNSUPPORTED_ARCH", "");
                Process p = pb.start();
                var e = new EtcdProcess(p, client, data);
                if (e.awaitHealthy(Duration.ofSeconds(20))) {
                    log.info("event=etcd_started pid={} endpoint={}", p.pid(), e.endpoint());
                    return e;
                }
                e.close();
                last = new IllegalStateException("etcd on port " + client + " did not become healthy; see "
                        + workDir.resolve("etcd-" + client + ".log"));
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot start etcd", ex);
            }
        }
        throw last;
    }

    public String endpoint() {
        return "http://127.0.0.1:" + clientPort;
    }

    public long pid() {
        return process.pid();
    }

    private boolean awaitHealthy(Duration within) {
        return EtcdCluster.awaitHealthy(process, endpoint(), within);
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files2.deleteTree(dataDir);
    }
}
