package io.halcyon.agent.ha;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/** A simulated hardware watchdog as the lab makes one: a FIFO, and a reader outside the agent that keeps what it was sent. */
final class FifoWatchdog implements AutoCloseable {
    final Path path;
    private final StringBuffer seen = new StringBuffer();
    private final Thread reader;

    FifoWatchdog(Path dir) throws Exception {
        this.path = dir.resolve("watchdog");
        new ProcessBuilder("mkfifo", path.toString()).start().waitFor();
        reader = new Thread(() -> {
            try (var in = new FileInputStream(path.toFile())) {
                int b;
                while ((b = in.read()) >= 0) {
                    seen.append((char) b);
                }
            } catch (IOException e) {
                // closed
            }
        }, "fifo-watchdog");
        reader.setDaemon(true);
        reader.start();
    }

    /** Opens it as the agent does, with the interim petting already handed over (the test pets). */
    Watchdog open() throws IOException {
        var w = Watchdog.open(path, Duration.ofSeconds(4));
        w.handOver();
        settle();
        seen.setLength(0);
        return w;
    }

    /** What the reader got so far, once what was written has arrived (nothing more for 100 ms). */
    String seen() {
        settle();
        return seen.toString();
    }

    private void settle() {
        var last = new int[] {-1};
        org.awaitility.Awaitility.await().pollInterval(Duration.ofMillis(10)).during(Duration.ofMillis(100)).atMost(Duration.ofSeconds(5))
                .until(() -> {
                    int n = seen.length();
                    boolean same = n == last[0];
                    last[0] = n;
                    return same;
                });
    }

    @Override
    public void close() {
        reader.interrupt();
    }
}
