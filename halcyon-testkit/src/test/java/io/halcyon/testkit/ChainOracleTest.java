package io.halcyon.testkit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The guest's writer (guest/chain.c, compiled here) on a disk file as the guest's disk: boots
 * one after another leave a chain the checker accepts; two writers at once, the case every HA
 * test must never show, are flagged.
 */
class ChainOracleTest {
    /** Under target/, not /tmp: the writer opens its disk with O_DIRECT, which tmpfs may refuse. */
    static Path dir;
    static Path writer;
    Path disk;

    @BeforeAll
    static void compile() throws Exception {
        dir = Files.createDirectories(Path.of("target/chain-oracle").toAbsolutePath());
        writer = dir.resolve("halcyon-chain");
        Command.run(List.of("gcc", "-O2", "-o", writer.toString(), Path.of("../guest/chain.c").toAbsolutePath().toString()), Map.of(),
                Duration.ofMinutes(2)).orThrow();
    }

    /** A disk with the ring where the guest puts it: 1 MiB before the last MiB. */
    Path disk() throws Exception {
        Path d = Files.createTempFile(dir, "disk", ".raw");
        try (var f = new RandomAccessFile(d.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        return d;
    }

    long offset() {
        return (8L << 20) - 2L * (1 << 20);
    }

    Process boot(Path disk, Path log) throws Exception {
        return new ProcessBuilder(writer.toString(), disk.toString(), Long.toString(offset()), Integer.toString(ChainOracle.SLOTS),
                log.toString(), "2000").redirectErrorStream(true).start();
    }

    List<ChainOracle.Record> ring(Path disk) throws Exception {
        byte[] all = Files.readAllBytes(disk);
        byte[] ring = java.util.Arrays.copyOfRange(all, (int) offset(), (int) offset() + ChainOracle.SLOTS * 512);
        return ChainOracle.parseRing(ring);
    }

    void awaitRecords(Path log, int n) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                .until(() -> Files.exists(log) && log(log).size() >= n);
    }

    List<ChainOracle.Record> log(Path p) throws Exception {
        var errors = new ArrayList<String>();
        var out = ChainOracle.parseLog(Files.readString(p), errors);
        assertThat(errors).isEmpty();
        return out;
    }

    @Test
    void bootsOneAfterAnotherMakeOneChain() throws Exception {
        disk = disk();
        var logs = new ArrayList<List<ChainOracle.Record>>();
        for (int i = 0; i < 3; i++) {
            Path log = dir.resolve("serial-a" + i + ".log");
            Process p = boot(disk, log);
            awaitRecords(log, 20);
            p.destroyForcibly().waitFor();
            logs.add(log(log));
        }
        assertThat(logs).allSatisfy(l -> assertThat(l).isNotEmpty());
        // the same disk read as the test reads a guest's: through qemu-img
        var ring = ChainOracle.parseRing(ChainOracle.readRing(disk, "raw"));
        assertThat(ring).hasSizeGreaterThan(10);
        assertThat(ChainOracle.check(ring, logs)).isEmpty();
        assertThat(ring.stream().map(ChainOracle.Record::boot).distinct()).hasSize(3);
    }

    /** The negative control: a second writer started while the first still runs. */
    @Test
    void twoWritersAtOnceAreFlagged() throws Exception {
        disk = disk();
        Path la = dir.resolve("serial-b1.log");
        Path lb = dir.resolve("serial-b2.log");
        Process a = boot(disk, la);
        awaitRecords(la, 20);
        Process b = boot(disk, lb);
        awaitRecords(lb, 50);
        b.destroyForcibly().waitFor();
        int seen = log(la).size();
        // the first writer goes on after the second is gone
        awaitRecords(la, seen + 10);
        a.destroyForcibly().waitFor();
        var problems = ChainOracle.check(ring(disk), List.of(log(la), log(lb)));
        assertThat(problems).isNotEmpty();
        assertThat(String.join("\n", problems)).containsAnyOf("written twice", "chain broken", "writes again");
    }
}
