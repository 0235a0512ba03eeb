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
    volatile boolean killConfirmed;

    HaGuard guard(boolean armed, Watchdog wd) {
        return guard(armed, wd, null);
    }

    HaGuard guard(boolean armed, Watchdog wd, StorageWitness witness) {
        return new HaGuard("h1", Duration.ofSeconds(1), Duration.ofSeconds(4), armed, (a, f) -> new HaGuard.Renewal(true, 7), () -> {
            kills.incrementAndGet();
            return killConfirmed;
        }, wd, witness, now::get);
    }

    @Test
    void petsWhileRenewedThenStopsAndKillsAfterTheGrace(@TempDir Path dir) throws Exception {
        var dev = new FifoWatchdog(dir);
        var g = guard(true, dev.open());
        g.tick();
        now.addAndGet(3_900);
        g.tick();
        assertThat(dev.seen()).isEqualTo("..");
        now.addAndGet(100);
        g.tick();
        assertThat(dev.seen()).as("petting stops at the self-fence timeout").isEqualTo("..");
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
        assertThat(dev.seen()).as("a clean stop disarms with the magic close").endsWith("V");
    }

    @Test
    void heartbeatsOnTheStorageCountOnlyOnceARenewalSaidSo(@TempDir Path dir) throws Exception {
        var dev = new FifoWatchdog(dir);
        var witness = new StorageWitness(dir, "h1", "boot-1");
        var g = guard(true, dev.open(), witness);
        // before any renewal: a beat is written but does not count
        g.beatWitness(now.get() + 3_000);
        assertThat(Files.readString(dir.resolve("h1"))).startsWith("boot-1 ");
        now.addAndGet(4_000);
        g.tick();
        now.addAndGet(HaGuard.GRACE_MILLIS);
        g.tick();
        assertThat(kills).as("a storage beat the leader was not told of keeps nothing alive").hasValue(1);

        var dev2 = new FifoWatchdog(Files.createDirectories(dir.resolve("second")));
        var g2 = guard(true, dev2.open(), witness);
        long t0 = now.get();
        g2.renewNow(t0);
        // cut from the control plane, alive on the storage: each beat counts as a renewal
        for (int i = 1; i <= 60; i++) {
            now.addAndGet(1_000);
            g2.beatWitness(now.get());
            g2.tick();
        }
        assertThat(kills).as("a minute without the control plane, beating on the storage").hasValue(1);
        String pets = dev2.seen();
        now.addAndGet(4_000);
        g2.tick();
        now.addAndGet(HaGuard.GRACE_MILLIS);
        g2.tick();
        assertThat(kills).as("silent on both: it self-fences").hasValue(2);
        assertThat(dev2.seen()).as("and stops petting").isEqualTo(pets);
        g.close();
        g2.close();
    }

    @Test
    void disarmedNeverKillsAndKeepsPetting(@TempDir Path dir) throws Exception {
        var dev = new FifoWatchdog(dir);
        var g = guard(false, dev.open());
        for (int i = 0; i < 100; i++) {
            now.addAndGet(1_000);
            g.tick();
        }
        assertThat(kills).hasValue(0);
        assertThat(dev.seen()).hasSize(100);
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
