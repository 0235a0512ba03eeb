package io.halcyon.agent.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The watchdog is verified, never trusted: nothing that is not one is armed, and nothing is created. */
class WatchdogTest {
    @Test
    void aMissingDeviceIsRefusedAndNotCreated(@TempDir Path dir) {
        Path dev = dir.resolve("watchdog");
        assertThatThrownBy(() -> Watchdog.open(dev, Duration.ofSeconds(4))).hasMessageContaining("does not exist");
        assertThat(dev).doesNotExist();
    }

    @Test
    void aRegularFileOrADirectoryIsNoWatchdog(@TempDir Path dir) throws Exception {
        Path file = Files.createFile(dir.resolve("watchdog"));
        assertThatThrownBy(() -> Watchdog.open(file, Duration.ofSeconds(4))).hasMessageContaining("is a regular file");
        assertThat(Files.size(file)).isZero();
        assertThatThrownBy(() -> Watchdog.open(dir, Duration.ofSeconds(4))).hasMessageContaining("is a directory");
    }

    @Test
    void aCharacterDeviceThatCannotSetItsTimeoutIsRefused() {
        // /dev/null takes writes like a watchdog, but answers WDIOC_SETTIMEOUT with ENOTTY (25)
        assertThatThrownBy(() -> Watchdog.open(Path.of("/dev/null"), Duration.ofSeconds(4)))
                .hasMessageContaining("did not take and report its timeout").hasMessageContaining("errno 25");
    }

    @Test
    void theLabsFifoIsArmedUnverifiedWithItsConfiguredTimeoutAndPettedUntilHandedOver(@TempDir Path dir) throws Exception {
        try (var fifo = new FifoWatchdog(dir)) {
            var w = Watchdog.open(fifo.path, Duration.ofSeconds(4));
            assertThat(w.verified()).isFalse();
            assertThat(w.timeout()).isEqualTo(Duration.ofSeconds(4));
            // petted every second until the guard takes over
            await().atMost(Duration.ofSeconds(5)).until(() -> fifo.seen().length() >= 2);
            w.handOver();
            int before = fifo.seen().length();
            await().during(Duration.ofMillis(1_500)).atMost(Duration.ofSeconds(3)).until(() -> fifo.seen().length() == before);
            w.close();
            assertThat(fifo.seen()).endsWith("V");
        }
    }
}
