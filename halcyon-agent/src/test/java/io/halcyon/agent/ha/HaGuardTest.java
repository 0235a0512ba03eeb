package io.halcyon.agent.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The guard's tick on a manual clock (its renewal thread is not started: renewals happen only as the test says). */
class HaGuardTest {
    final AtomicLong now = new AtomicLong(1_000);
    final AtomicInteger kills = new AtomicInteger();

    HaGuard guard(boolean armed, Watchdog wd) {
        return new HaGuard("h1", Duration.ofSeconds(1), Duration.ofSeconds(4), armed, a -> new HaGuard.Renewal(true, 7), kills::incrementAndGet,
                wd, now::get);
    }

    @Test
    void petsWhileRenewedThenStopsAndKillsAfterTheGrace(@TempDir Path dir) throws Exception {
        Path dev = dir.resolve("watchdog");
        Files.createFile(dev);
        var g = guard(true, Watchdog.open(dev, Duration.ofSeconds(4)));
        g.tick();
        now.addAndGet(3_900);
        g.tick();
        assertThat(Files.readString(dev)).isEqualTo("..");
        now.addAndGet(100);
        g.tick();
        assertThat(Files.readString(dev)).as("petting stops at the self-fence timeout").isEqualTo("..");
        assertThat(kills).hasValue(0);
        now.addAndGet(HaGuard.GRACE_MILLIS - 100);
        g.tick();
        assertThat(kills).as("one last renewal may still come in the grace").hasValue(0);
        now.addAndGet(100);
        g.tick();
        assertThat(kills).hasValue(1);
        now.addAndGet(5_000);
        g.tick();
        assertThat(kills).as("once per silence").hasValue(1);
        assertThat(g.mayStartHaGuests(100)).isFalse();
        g.close();
        assertThat(Files.readString(dev)).as("a clean stop disarms with the magic close").endsWith("V");
    }

    @Test
    void disarmedNeverKillsAndKeepsPetting(@TempDir Path dir) throws Exception {
        Path dev = dir.resolve("watchdog");
        Files.createFile(dev);
        var g = guard(false, Watchdog.open(dev, Duration.ofSeconds(4)));
        for (int i = 0; i < 100; i++) {
            now.addAndGet(1_000);
            g.tick();
        }
        assertThat(kills).hasValue(0);
        assertThat(Files.readString(dev)).hasSize(100);
    }

    @Test
    void aWatchdogNobodyReadsIsRefusedInsteadOfHangingTheAgent(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("fifo");
        new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor();
        long t0 = System.nanoTime();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Watchdog.open(fifo, Duration.ofSeconds(4)))
                .hasMessageContaining("could not be opened within 5 s");
        assertThat(System.nanoTime() - t0).isLessThan(Duration.ofSeconds(8).toNanos());
    }
}
