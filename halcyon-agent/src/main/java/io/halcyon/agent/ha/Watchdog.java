package io.halcyon.agent.ha;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.ptr.IntByReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
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
 * Trusted only once verified: a character device is opened without ever creating a file, its
 * timeout is set and read back with ioctl(2) ({@code WDIOC_SETTIMEOUT}, {@code WDIOC_GETTIMEOUT}),
 * and the timeout it reports is the one the agent registers and the leader counts with; a device
 * that refuses either ioctl is refused. A FIFO is the lab's simulated hardware watchdog, read by a
 * process outside the host, which cannot answer ioctls: its configured timeout is taken as given,
 * and {@link #verified()} says so. Anything else (a missing path, a regular file) is refused.
 * From opening until the HA guard takes over, a thread of its own pets it.
 */
public final class Watchdog implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Watchdog.class);
    private static final int O_WRONLY = 1;
    private static final int O_CLOEXEC = 0x80000;
    /** _IOWR('W', 6, int) and _IOR('W', 7, int) from linux/watchdog.h. */
    private static final long WDIOC_SETTIMEOUT = 0xC0045706L;
    private static final long WDIOC_GETTIMEOUT = 0x80045707L;

    interface LibC extends Library {
        int open(String path, int flags) throws LastErrorException;

        int ioctl(int fd, NativeLong request, IntByReference arg) throws LastErrorException;

        NativeLong write(int fd, byte[] buf, NativeLong count) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    /** How the agent reaches the device: a kernel watchdog by its file descriptor, or the lab's FIFO as a stream. */
    private interface Channel {
        void write(byte b) throws IOException;

        void close() throws IOException;
    }

    private final Path device;
    private final Duration timeout;
    private final boolean verified;
    private final Channel out;
    private boolean closed;
    private Thread interim;

    private Watchdog(Path device, Duration timeout, boolean verified, Channel out) {
        this.device = device;
        this.timeout = timeout;
        this.verified = verified;
        this.out = out;
    }

    /**
     * Opens (and so arms) the device, verifies it and starts petting it until {@link #handOver}.
     * {@code timeout} is asked of a character device; its answer is what {@link #timeout()} returns.
     */
    public static Watchdog open(Path device, Duration timeout) throws IOException {
        requireNonNull(device, "device is null");
        requireNonNull(timeout, "timeout is null");
        if (!Files.exists(device)) {
            throw new IOException("watchdog " + device + " does not exist (no watchdog driver loaded?); refusing to arm without one");
        }
        String type = fileType(device);
        Watchdog w = switch (type) {
            case "character special file" -> openDevice(device, timeout);
            case "fifo" -> new Watchdog(device, timeout, false, fifo(device));
            default -> throw new IOException("watchdog " + device + " is a " + type + ", not a watchdog device; refusing to arm");
        };
        w.startInterim();
        log.info("event=watchdog_armed device={} timeout_ms={} verified={}", device, w.timeout.toMillis(), w.verified);
        return w;
    }

    private static String fileType(Path p) throws IOException {
        if (Files.isRegularFile(p)) {
            return "regular file";
        }
        if (Files.isDirectory(p)) {
            return "directory";
        }
        try {
            var attrs = Files.readAttributes(p, "unix:mode");
            int mode = (Integer) attrs.get("mode");
            return switch (mode & 0170000) {
                case 0020000 -> "character special file";
                case 0010000 -> "fifo";
                case 0060000 -> "block special file";
                case 0140000 -> "socket";
                default -> "file of mode " + Integer.toOctalString(mode);
            };
        } catch (UnsupportedOperationException e) {
            throw new IOException("cannot tell what " + p + " is on this platform", e);
        }
    }

    private static Watchdog openDevice(Path device, Duration timeout) throws IOException {
        LibC c;
        try {
            c = Native.load("c", LibC.class);
        } catch (UnsatisfiedLinkError e) {
            throw new IOException("cannot reach the C library to drive watchdog " + device + ": " + e.getMessage(), e);
        }
        int fd;
        try {
            fd = c.open(device.toString(), O_WRONLY | O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IOException("watchdog " + device + " could not be opened: errno " + e.getErrorCode(), e);
        }
        int seconds = (int) Math.max(1, (timeout.toMillis() + 999) / 1000);
        try {
            var arg = new IntByReference(seconds);
            c.ioctl(fd, new NativeLong(WDIOC_SETTIMEOUT), arg);
            var back = new IntByReference(0);
            c.ioctl(fd, new NativeLong(WDIOC_GETTIMEOUT), back);
            if (back.getValue() <= 0) {
                throw new IOException("watchdog " + device + " reports a timeout of " + back.getValue() + " s");
            }
            if (back.getValue() != seconds) {
                log.warn("event=watchdog_timeout_differs device={} asked_s={} device_s={}", device, seconds, back.getValue());
            }
            final int f = fd;
            return new Watchdog(device, Duration.ofSeconds(back.getValue()), true, new Channel() {
                @Override
                public void write(byte b) throws IOException {
                    try {
                        c.write(f, new byte[] {b}, new NativeLong(1));
                    } catch (LastErrorException e) {
                        throw new IOException("errno " + e.getErrorCode(), e);
                    }
                }

                @Override
                public void close() throws IOException {
                    try {
                        c.close(f);
                    } catch (LastErrorException e) {
                        throw new IOException("errno " + e.getErrorCode(), e);
                    }
                }
            });
        } catch (LastErrorException | IOException e) {
            // disarmed again (unless the driver forbids it): the agent refuses to start rather than trust a timeout nobody set
            try {
                c.write(fd, new byte[] {'V'}, new NativeLong(1));
                c.close(fd);
            } catch (LastErrorException ignored) {
                // refused below either way
            }
            String why = e instanceof LastErrorException le ? "errno " + le.getErrorCode() : e.getMessage();
            throw new IOException("watchdog " + device + " did not take and report its timeout (" + why + "); refusing to arm", e);
        }
    }

    /** The lab's FIFO: a FIFO with no reader would block forever, so this gives up after 5 s. */
    private static Channel fifo(Path device) throws IOException {
        var f = CompletableFuture.supplyAsync(() -> {
            try {
                return new FileOutputStream(device.toFile());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        OutputStream s;
        try {
            s = f.get(5, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new IOException("watchdog " + device + " could not be opened within 5 s (nothing reads it?)");
        } catch (ExecutionException e) {
            throw new IOException("watchdog " + device + " could not be opened: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while opening watchdog " + device);
        }
        return new Channel() {
            @Override
            public void write(byte b) throws IOException {
                s.write(b);
                s.flush();
            }

            @Override
            public void close() throws IOException {
                s.close();
            }
        };
    }

    /** Pets from opening until the HA guard takes over (registration may take a while). */
    private void startInterim() {
        long every = Math.max(100, Math.min(1000, timeout.toMillis() / 4));
        interim = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                pet();
                try {
                    Thread.sleep(every);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "watchdog-interim");
        interim.setDaemon(true);
        interim.start();
    }

    /** The HA guard pets from now on. */
    public synchronized void handOver() {
        if (interim != null) {
            interim.interrupt();
            interim = null;
        }
    }

    /** The timeout the device reported (or, unverified, the one configured). */
    public Duration timeout() {
        return timeout;
    }

    /** Whether the timeout was set on the device and read back from it. */
    public boolean verified() {
        return verified;
    }

    public synchronized void pet() {
        if (closed) {
            return;
        }
        try {
            out.write((byte) '.');
        } catch (IOException e) {
            log.warn("event=watchdog_pet_failed device={} error=\"{}\"", device, e.getMessage());
        }
    }

    /** Closes without disarming: the device fires unless a new agent opens and pets it in time. */
    public synchronized void abandon() {
        if (closed) {
            return;
        }
        handOver();
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
        handOver();
        closed = true;
        try {
            out.write((byte) 'V');
            out.close();
            log.info("event=watchdog_disarmed device={}", device);
        } catch (IOException e) {
            log.warn("event=watchdog_close_failed device={} error=\"{}\"", device, e.getMessage());
        }
    }
}
