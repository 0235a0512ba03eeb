package io.halcyon.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's HAProxy in front of controllers with the configuration Halcyon ships
 * ({@code examples/ha/haproxy.cfg}): health checks on /halcyon/v1/health, a dead controller taken
 * out within a second, requests that never reached a controller sent to another, and reads
 * retried when a controller dies mid-answer.
 */
public final class Haproxy implements AutoCloseable {
    private final Process process;
    private final int port;

    private Haproxy(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /**
     * The shipped example ({@code examples/ha/haproxy.cfg}) with its frontend on
     * 127.0.0.1:{@code port} and its servers replaced by {@code controllers} (host:port each).
     */
    public static String config(Path repoRoot, int port, List<String> controllers) throws IOException {
        var out = new StringBuilder();
        boolean serversWritten = false;
        for (String line : Files.readAllLines(repoRoot.resolve("examples/ha/haproxy.cfg"))) {
            if (line.trim().startsWith("bind ")) {
                out.append("  bind 127.0.0.1:").append(port).append('\n');
            } else if (line.trim().startsWith("server ")) {
                if (!serversWritten) {
                    for (int i = 0; i < controllers.size(); i++) {
                        out.append("  server controller").append(i + 1).append(' ').append(controllers.get(i)).append(" check\n");
                    }
                    serversWritten = true;
                }
            } else {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    public static Haproxy start(Path repoRoot, Path dir, List<String> controllers) {
        Binaries.require("haproxy", "haproxy");
        int port = Ports.free();
        Path cfg = dir.resolve("haproxy.cfg");
        try {
            Files.createDirectories(dir);
            Files.writeString(cfg, config(repoRoot, port, controllers));
            Process p = new ProcessBuilder("haproxy", "-db", "-f", cfg.toString()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("haproxy.log").toFile()).start();
            try {
                org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).pollInterval(java.time.Duration.ofMillis(50))
                        .until(() -> {
                            if (!p.isAlive()) {
                                throw new IllegalStateException("HAProxy exited; see " + dir.resolve("haproxy.log"));
                            }
                            try (var s = new Socket("127.0.0.1", port)) {
                                return true;
                            } catch (IOException e) {
                                return false;
                            }
                        });
            } catch (RuntimeException e) {
                p.destroyForcibly();
                throw new IllegalStateException("HAProxy did not start; see " + dir.resolve("haproxy.log"), e);
            }
            return new Haproxy(p, port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String url() {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
