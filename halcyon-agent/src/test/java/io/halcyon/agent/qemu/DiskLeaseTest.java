package io.halcyon.agent.qemu;

import io.halcyon.model.agent.DiskSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class DiskLeaseTest {
    @TempDir
    Path dir;

    private static DiskSpec file(Path p, boolean readOnly) {
        return new DiskSpec("v1", "file", p.toString(), "raw", "v1", "vdb", readOnly, null, 0);
    }

    @Test
    void aDiskNobodyHasOpenIsFreeAndAMissingOneToo() throws Exception {
        Path img = Files.write(dir.resolve("disk.raw"), new byte[4096]);
        DiskLease.check(file(img, false), List.of());
        DiskLease.check(file(dir.resolve("absent.raw"), false), List.of());
        // free again after the probe: it holds nothing
        DiskLease.check(img);
    }

    /** qemu-io opens the image as QEMU would (the same block layer and locks): while it lives, the lease is held. */
    @Test
    void aQemuWithTheDiskOpenForWritingHoldsTheLeaseUntilItEnds() throws Exception {
        Path img = Files.write(dir.resolve("disk.raw"), new byte[1 << 20]);
        Process p = new ProcessBuilder("qemu-io", "-f", "raw", img.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("qemu-io.log").toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                try {
                    DiskLease.check(img);
                    return false;
                } catch (DiskLease.HeldException held) {
                    return true;
                }
            });
            assertThatThrownBy(() -> DiskLease.check(file(img, false), List.of())).isInstanceOf(DiskLease.HeldException.class)
                    .hasMessageContaining("another QEMU");
            // read-only disks (a shared base, the config drive) are never a lease
            DiskLease.check(file(img, true), List.of());
        } finally {
            try (OutputStream in = p.getOutputStream()) {
                in.write("quit\n".getBytes());
            }
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        DiskLease.check(img);
    }

    @Test
    void qemusOwnRefusalIsRecognized() {
        assertThat(DiskLease.refusedForLock("qemu-system-x86_64: -blockdev {...}: Failed to get \"write\" lock\n"
                + "Is another process using the image [/srv/disk.qcow2]?")).isTrue();
        assertThat(DiskLease.refusedForLock("qemu-system-x86_64: could not open disk image")).isFalse();
    }
}
