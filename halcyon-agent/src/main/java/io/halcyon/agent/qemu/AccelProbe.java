package io.halcyon.agent.qemu;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Decides between KVM and TCG. /dev/kvm existing is not enough: on some hosts it opens but guests
 * never run, so the probe boots a Linux kernel under KVM and waits, for a bounded time, for it to
 * print "Linux version" on the serial port. The result is kept per host boot (boot_id), so an
 * agent restart does not pay for the probe again.
 */
public final class AccelProbe {
    private static final Logger log = LoggerFactory.getLogger(AccelProbe.class);

    private AccelProbe() {
    }

    public static String decide(String configured, String qemuBinary, Path workDir, Duration timeout) {
        if (!"auto".equals(configured)) {
            return configured;
        }
        if (!Files.exists(Path.of("/dev/kvm"))) {
            log.info("event=accel_probe result=tcg reason=\"no /dev/kvm\"");
            return "tcg";
        }
        Path cache = workDir.resolve("accel-probe");
        String bootId = bootId();
        try {
            if (Files.exists(cache)) {
                String[] parts = Files.readString(cache).trim().split(" ");
                if (parts.length == 2 && parts[0].equals(bootId)) {
                    return parts[1];
                }
            }
        } catch (IOException e) {
            // probe again
        }
        String result = probe(qemuBinary, workDir, timeout);
        try {
            Files.createDirectories(workDir);
            Files.writeString(cache, bootId + " " + result + "\n");
        } catch (IOException e) {
            log.warn("event=accel_probe_cache_failed error=\"{}\"", e.getMessage());
        }
        return result;
    }

    static String bootId() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    static Optional<Path> kernel() {
        try (var s = Files.list(Path.of("/boot"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("vmlinuz-")).max(Comparator.comparing(Path::toString));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static String probe(String qemuBinary, Path workDir, Duration timeout) {
        Optional<Path> kernel = kernel();
        if (kernel.isEmpty()) {
            log.warn("event=accel_probe result=kvm reason=\"no kernel in /boot to probe with; trusting /dev/kvm\"");
            return "kvm";
        }
        Path serial = workDir.resolve("accel-probe.serial");
        long start = System.nanoTime();
        Process p = null;
        try {
            Files.createDirectories(workDir);
            Files.deleteIfExists(serial);
            p = new ProcessBuilder(List.of(qemuBinary, "-accel", "kvm", "-machine", "pc", "-m", "128", "-nodefaults",
                    "-no-user-config", "-display", "none", "-no-reboot", "-kernel", kernel.get().toString(),
                    "-append", "console=ttyS0 panic=-1", "-serial", "file:" + serial))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            long deadline = start + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                if (Files.exists(serial) && Files.readString(serial, StandardCharsets.ISO_8859_1).contains("Linux version")) {
                    log.info("event=accel_probe result=kvm ms={}", (System.nanoTime() - start) / 1_000_000);
                    return "kvm";
                }
                if (p.waitFor(50, TimeUnit.MILLISECONDS)) {
                    break;
                }
            }
            log.warn("event=accel_probe result=tcg reason=\"a KVM guest printed nothing within {} ms\"", timeout.toMillis());
            return "tcg";
        } catch (IOException e) {
            log.warn("event=accel_probe result=tcg reason=\"{}\"", e.getMessage());
            return "tcg";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "tcg";
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
            try {
                Files.deleteIfExists(serial);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
