package io.halcyon.agent.ha;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static java.util.Objects.requireNonNull;

/**
 * The host's watchdog device, as Linux defines it: opening arms it, every write pets it, and "V"
 * written just before a clean close disarms it (a crash never writes it, so the device fires).
 * The same code drives {@code /dev/watchdog} and the lab's simulated hardware watchdog, a FIFO
 * read by a process outside the host.
 */
public final class Watchdog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Watchdog.class);

    private final Path device;
    private final Duration timeout;
    private final FileOutputStream out;
    private boolean closed;

    private Watchdog(Path device, Duration timeout, FileOutputStream out) {
        this.device = device;
        this.timeout = timeout;
        this.out = out;
    }

    /** Opens (and so arms) the device; a FIFO with no reader would block forever, so this gives up after 5 s. */
    public static Watchdog open(Path device, Duration timeout) throws IOException {
        requireNonNull(device, "device is null");
        var f = CompletableFuture.supplyAsync(() -> {
            try {
                return new FileOutputStream(device.toFile());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            var w = new Watchdog(device, timeout, f.get(5, TimeUnit.SECONDS));
            log.info("event=watchdog_armed device={} timeout_ms={}", device, timeout.toMillis());
            return w;
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new IOException("watchdog " + device + " could not be opened within 5 s (nothing reads it?)");
        } catch (ExecutionException e) {
            throw new IOException("watchdog " + device + " could not be opened: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while opening watchdog " + device);
        }
    }

    public Duration timeout() {
        return timeout;
    }

    public synchronized void pet() {
        if (closed) {
            return;
        }
        try {
            out.write('.');
            out.flush();
        } catch (IOException e) {
            log.warn("event=watchdog_pet_failed device={} error=\"{}\"", device, e.getMessage());
        }
    }

    /** Closes without disarming: the device fires unless a new agent opens and pets it in time. */
    public synchronized void abandon() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            out.close();
            log.warn("event=watchdog_left_armed device={}", device);
        } catch (IOException e) {
            log.warn("event=watchdog_close_failed device={} error=\"{}\"", device, e.getMessage());
        }
    }

    /** Disarms and closes: only for a clean agent stop. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            out.write('V');
            out.flush();
            out.close();
            log.info("event=watchdog_disarmed device={}", device);
        } catch (IOException e) {
            log.warn("event=watchdog_close_failed device={} error=\"{}\"", device, e.getMessage());
        }
    }
}
