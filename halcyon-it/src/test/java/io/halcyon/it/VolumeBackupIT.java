package io.halcyon.it;

import io.halcyon.backup.QemuImage;
import io.halcyon.backup.VolumeBackups;
import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.Repository;
import io.halcyon.testkit.Command;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Backups of qcow2 volumes at rest with the real qemu-img, qemu-nbd and qemu-io: what a full and
 * an incremental backup read (the byte counters), byte-identical restores, a dirty bitmap left
 * inconsistent by a crash, one image's chunks stored once for many volumes, and the
 * {@code halcyon repo} command killed with SIGKILL in the middle of a backup, a prune and a
 * garbage collection, after which the repository verifies and takes the next backup.
 */
class VolumeBackupIT {
    static final long MiB = 1 << 20;
    static final long GiB = 1 << 30;
    static final int CHUNK = 4 * (int) MiB;

    Path dir;
    Repository repo;
    VolumeBackups backups;

    @BeforeEach
    void setUp() throws Exception {
        Files.createDirectories(Paths.work());
        dir = Files.createTempDirectory(Paths.work(), "backup");
        repo = Repository.init(dir.resolve("repo"), CHUNK, 1, null);
        backups = new VolumeBackups(repo, new QemuImage("qemu-img"), "qemu-nbd", 2);
    }

    @AfterEach
    void tearDown() throws Exception {
        repo.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static Command.Result run(String... argv) {
        return Command.run(List.of(argv), Map.of(), Duration.ofMinutes(5));
    }

    static Command.Result halcyon(String... args) {
        var argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", Paths.jar().toString()));
        argv.addAll(List.of(args));
        return Command.run(argv, Map.of(), Duration.ofMinutes(5));
    }

    Path image(String name, long size) {
        Path p = dir.resolve(name);
        run("qemu-img", "create", "-q", "-f", "qcow2", p.toString(), Long.toString(size)).orThrow();
        return p;
    }

    Path randomFile(String name, long size, long seed) throws IOException {
        Path p = dir.resolve(name);
        byte[] b = new byte[(int) Math.min(size, 8 * MiB)];
        var rnd = new Random(seed);
        try (OutputStream out = Files.newOutputStream(p)) {
            for (long done = 0; done < size; done += b.length) {
                rnd.nextBytes(b);
                out.write(b, 0, (int) Math.min(b.length, size - done));
            }
        }
        return p;
    }

    /** Runs qemu-io commands on an image (stdin, one per line): writes go through QEMU's block layer and its bitmaps. */
    void qemuIo(Path image, List<String> commands) throws Exception {
        Process p = new ProcessBuilder("qemu-io", "-f", "qcow2", image.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("qemu-io.log").toFile()).start();
        try (OutputStream in = p.getOutputStream()) {
            for (String c : commands) {
                in.write((c + "\n").getBytes(StandardCharsets.US_ASCII));
            }
            in.write("quit\n".getBytes(StandardCharsets.US_ASCII));
        }
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(dir.resolve("qemu-io.log"))).isZero();
        assertThat(Files.readString(dir.resolve("qemu-io.log"))).doesNotContain("error", "failed");
    }

    void assertSameContent(Path a, Path b) {
        var r = run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", a.toString(), b.toString());
        assertThat(r.exit()).as(r.stdout() + r.stderr()).isZero();
    }

    @Test
    void aSparseVolumeIsReadOnlyWhereItHoldsDataAndIncrementalsReadOnlyWhatChanged() throws Exception {
        Path vol = image("vol.qcow2", 10 * GiB);
        Path data = randomFile("data", 10 * MiB, 1);
        var writes = new ArrayList<String>();
        for (int i = 0; i < 30; i++) {
            writes.add("write -s " + data + " " + (i * 340 * MiB + 123 * 4096) + " " + 10 * MiB);
        }
        qemuIo(vol, writes);

        BackupIndex full = backups.backup(vol, "full", "vol", Map.of(), null, null);
        System.out.printf("full backup of a 10 GiB volume holding 300 MiB: read %d MiB, stored %d MiB, skipped %d MiB, %d ms%n",
                full.stats().bytesRead() / MiB, full.stats().bytesStored() / MiB, full.stats().bytesSkipped() / MiB, full.stats().millis());
        assertThat(full.mode()).isEqualTo(BackupIndex.FULL);
        assertThat(full.stats().bytesRead()).isGreaterThanOrEqualTo(300 * MiB).isLessThanOrEqualTo(310 * MiB);
        assertThat(new QemuImage("qemu-img").info(vol).bitmap(VolumeBackups.bitmapOf("full"))).isNotNull();

        // 1% of the volume in four contiguous runs
        Path more = randomFile("more", 26 * MiB, 2);
        qemuIo(vol, List.of("write -s " + more + " " + 100 * MiB + " " + 26 * MiB, "write -s " + more + " " + 3 * GiB + " " + 26 * MiB,
                "write -s " + more + " " + (5 * GiB + 7 * MiB) + " " + 26 * MiB, "write -s " + more + " " + 9 * GiB + " " + 25 * MiB));
        BackupIndex inc = backups.backup(vol, "inc", "vol", Map.of(), "full", null);
        System.out.printf("incremental after 1%% changed in 4 runs: read %d MiB (%.2f%% of the volume), %d ms%n",
                inc.stats().bytesRead() / MiB, 100.0 * inc.stats().bytesRead() / (10 * GiB), inc.stats().millis());
        assertThat(inc.mode()).isEqualTo(BackupIndex.BITMAP);
        assertThat(inc.stats().bytesRead()).isLessThanOrEqualTo(10 * GiB / 50);

        // 1% as scattered 4 KiB writes
        var rnd = new Random(3);
        var scattered = new ArrayList<String>();
        for (int i = 0; i < (int) (10 * GiB / 100 / 4096); i++) {
            scattered.add("write -q -P " + (1 + rnd.nextInt(250)) + " " + rnd.nextLong(10 * GiB / 4096) * 4096 + " 4k");
        }
        qemuIo(vol, scattered);
        BackupIndex inc2 = backups.backup(vol, "inc2", "vol", Map.of(), "inc", null);
        System.out.printf("incremental after 1%% changed as %d scattered 4 KiB writes: read %d MiB (%.1fx the bytes written), "
                        + "%d chunks new, %d ms%n", scattered.size(), inc2.stats().bytesRead() / MiB,
                inc2.stats().bytesRead() / (double) (scattered.size() * 4096L), inc2.stats().chunksNew(), inc2.stats().millis());
        assertThat(inc2.mode()).isEqualTo(BackupIndex.BITMAP);

        Path restored = dir.resolve("restored.qcow2");
        backups.restore("inc2", restored);
        assertSameContent(vol, restored);
        // holes stay holes: the restored image takes no more room than the original
        assertThat(new QemuImage("qemu-img").allocated(restored)).isLessThanOrEqualTo(new QemuImage("qemu-img").allocated(vol) + 16 * MiB);
        repo.deleteIndex("inc2");
        Path older = dir.resolve("older.qcow2");
        backups.restore("inc", older);
        assertThat(run("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "qcow2", vol.toString(), older.toString()).exit()).isEqualTo(1);
    }

    @Test
    void aBitmapLeftInUseByACrashedWriterIsNotTrustedAndTheBackupComparesHashes() throws Exception {
        Path vol = image("vol.qcow2", 256 * MiB);
        qemuIo(vol, List.of("write -P 1 0 64M"));
        backups.backup(vol, "b1", "vol", Map.of(), null, null);
        Process io = new ProcessBuilder("qemu-io", "-f", "qcow2", vol.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("crash.log").toFile()).start();
        try {
            io.getOutputStream().write("write -P 2 100M 1M\nflush\n".getBytes(StandardCharsets.US_ASCII));
            io.getOutputStream().flush();
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(dir.resolve("crash.log")).contains("wrote 1048576"));
        } finally {
            io.destroyForcibly().waitFor();
        }
        assertThat(new QemuImage("qemu-img").info(vol).bitmap(VolumeBackups.bitmapOf("b1")).inUse()).isTrue();
        BackupIndex b2 = backups.backup(vol, "b2", "vol", Map.of(), "b1", null);
        assertThat(b2.mode()).isEqualTo(BackupIndex.HASH_COMPARE);
        assertThat(b2.note()).contains("inconsistent");
        assertThat(b2.stats().bytesRead()).isGreaterThanOrEqualTo(65 * MiB);
        assertThat(b2.stats().chunksNew()).isEqualTo(1);
        Path restored = dir.resolve("restored.qcow2");
        backups.restore("b2", restored);
        assertSameContent(vol, restored);
        // the next incremental has a sound bitmap again
        qemuIo(vol, List.of("write -P 3 200M 4k"));
        BackupIndex b3 = backups.backup(vol, "b3", "vol", Map.of(), "b2", null);
        assertThat(b3.mode()).isEqualTo(BackupIndex.BITMAP);
        assertThat(b3.stats().bytesRead()).isPositive().isLessThanOrEqualTo(64 * 1024);
    }

    @Test
    void severalVolumesAreBackedUpTogetherOrNotAtAll() throws Exception {
        Path a = image("a.qcow2", 256 * MiB);
        Path b = image("b.qcow2", 256 * MiB);
        qemuIo(a, List.of("write -P 1 0 8M"));
        qemuIo(b, List.of("write -P 2 64M 8M"));
        var members = List.of(new VolumeBackups.Member(a, "ga", "a", Map.of("server_backup", "g"), null),
                new VolumeBackups.Member(b, "gb", "b", Map.of("server_backup", "g"), null));
        // b is held by a reader: its bitmap cannot be added, after a's was
        try (var holder = io.halcyon.backup.nbd.QemuNbd.serve("qemu-nbd", b, "qcow2", true, null, 1)) {
            assertThatThrownBy(() -> backups.backupAll(members, null)).hasMessageContaining("b.qcow2");
        }
        assertThat(repo.hasIndex("ga")).isFalse();
        assertThat(repo.hasIndex("gb")).isFalse();
        assertThat(new QemuImage("qemu-img").info(a).bitmaps()).as("a's bitmap is taken back").isEmpty();

        List<BackupIndex> both = backups.backupAll(members, null);
        assertThat(both).extracting(BackupIndex::id).containsExactly("ga", "gb");
        assertThat(new QemuImage("qemu-img").info(a).bitmap(VolumeBackups.bitmapOf("ga"))).isNotNull();
        assertThat(new QemuImage("qemu-img").info(b).bitmap(VolumeBackups.bitmapOf("gb"))).isNotNull();
        for (String[] x : new String[][]{{"ga", a.toString()}, {"gb", b.toString()}}) {
            Path out = dir.resolve(x[0] + "-restored.qcow2");
            run("qemu-img", "create", "-q", "-f", "qcow2", out.toString(), Long.toString(256 * MiB)).orThrow();
            backups.restore(x[0], out);
            assertSameContent(Path.of(x[1]), out);
        }
        // a target named relative to the working directory
        Path rel = Path.of("").toAbsolutePath().relativize(dir.resolve("relative.qcow2"));
        var r = halcyon("repo", "restore", repo.dir().toString(), "ga", rel.toString());
        assertThat(r.exit()).as(r.stdout() + r.stderr()).isZero();
        assertSameContent(a, dir.resolve("relative.qcow2"));
    }

    @Test
    void volumesClonedFromOneImageShareItsChunks() throws Exception {
        Path base = image("base.qcow2", 512 * MiB);
        qemuIo(base, List.of("write -s " + randomFile("img", 40 * MiB, 4) + " 0 40M"));
        for (int i = 0; i < 10; i++) {
            Path v = dir.resolve("server" + i + ".qcow2");
            run("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "qcow2", v.toString()).orThrow();
            qemuIo(v, List.of("write -P " + (i + 1) + " " + (100 + i) * MiB + " 64k"));
            backups.backup(v, "s" + i, "server" + i, Map.of(), null, null);
        }
        try (Stream<Path> s = Files.walk(repo.dir().resolve("chunks"))) {
            assertThat(s.filter(Files::isRegularFile).count()).isEqualTo(10 + 10);
        }
    }

    @Test
    void theRepositoryOutlivesSigkillInBackupPruneAndGc() throws Exception {
        String r = repo.dir().toString();
        Path vol = image("big.qcow2", GiB);
        Path big = randomFile("big", 256 * MiB, 5);
        qemuIo(vol, List.of("write -s " + big + " 0 256M", "write -s " + big + " 256M 256M", "write -s " + big + " 512M 256M",
                "write -s " + big + " 768M 256M"));
        // backup: killed once chunks are being written
        Process p = start("repo", "backup", r, vol.toString(), "--source", "big", "--id", "killed", "--threads", "1");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> chunkFiles() >= 3);
        p.destroyForcibly().waitFor();
        assertThat(repo.hasIndex("killed")).isFalse();
        verifyOk();
        assertThat(halcyon("repo", "backup", r, vol.toString(), "--source", "big", "--id", "after").exit()).isZero();
        verifyOk();

        // prune: thousands of backups of small volumes, killed half way
        Path small = image("small.qcow2", 64 * MiB);
        qemuIo(small, List.of("write -P 9 0 1M"));
        BackupIndex template = backups.backup(small, "t0", "small", Map.of(), null, null);
        for (int i = 1; i < 2000; i++) {
            repo.writeIndex(new BackupIndex("t" + i, "small", Map.of(), template.createdAt().plusSeconds(i), null, template.size(),
                    template.chunkSize(), template.mode(), null, template.stats(), template.chunks()));
        }
        p = start("repo", "prune", r, "--keep-last", "1");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10)).until(() -> repo.backupIds().size() < 1950);
        p.destroyForcibly().waitFor();
        System.out.printf("prune killed with %d of 2001 backups left%n", repo.backupIds().size());
        assertThat(repo.backupIds()).contains("t1999");
        verifyOk();

        // gc: thousands of unused chunks, killed half way
        for (String id : repo.backupIds()) {
            if (!id.equals("after")) {
                repo.deleteIndex(id);
            }
        }
        // garbage written straight into the shards, as chunks of deleted backups would be
        var codec = repo.codec();
        for (int i = 0; i < 30000; i++) {
            byte[] b = ("garbage " + i).getBytes(StandardCharsets.US_ASCII);
            String id = codec.id(b, b.length);
            var enc = codec.encode(id, b, b.length);
            Files.write(repo.dir().resolve("chunks").resolve(id.substring(0, 2)).resolve(id),
                    java.util.Arrays.copyOfRange(enc.array(), enc.position(), enc.limit()));
        }
        long before = chunkFiles();
        p = start("repo", "gc", r, "--grace", "0s");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10)).until(() -> chunkFiles() < before - 1000);
        p.destroyForcibly().waitFor();
        System.out.printf("gc killed with %d of %d chunk files left%n", chunkFiles(), before);
        verifyOk();
        assertThat(halcyon("repo", "backup", r, vol.toString(), "--source", "big", "--incremental", "--id", "next").exit()).isZero();
        verifyOk();
        Path restored = dir.resolve("restored.qcow2");
        assertThat(halcyon("repo", "restore", r, "next", restored.toString()).exit()).isZero();
        assertSameContent(vol, restored);
    }

    @Test
    void aFlippedByteIsNamedByVerifyAndStopsTheRestoreCleanly() throws Exception {
        Path vol = image("vol.qcow2", 64 * MiB);
        qemuIo(vol, List.of("write -s " + randomFile("d", 8 * MiB, 6) + " 0 8M"));
        BackupIndex b1 = backups.backup(vol, "b1", "vol", Map.of(), null, null);
        backups.backup(vol, "b2", "vol", Map.of(), "b1", null);
        String victim = b1.chunks().get(1);
        Path file = repo.dir().resolve("chunks").resolve(victim.substring(0, 2)).resolve(victim);
        byte[] stored = Files.readAllBytes(file);
        stored[stored.length / 3] ^= 0x40;
        Files.write(file, stored);

        String r = repo.dir().toString();
        var verify = halcyon("repo", "verify", r);
        assertThat(verify.exit()).isEqualTo(1);
        assertThat(verify.stdout()).contains("DAMAGED chunk " + victim).contains("used by b1, b2");

        Path target = dir.resolve("target.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", target.toString(), "64M").orThrow();
        qemuIo(target, List.of("write -P 5 0 1M"));
        Path copy = dir.resolve("target-copy.qcow2");
        Files.copy(target, copy);
        var restore = halcyon("repo", "restore", r, "b2", target.toString());
        assertThat(restore.exit()).isEqualTo(1);
        assertThat(restore.stderr().strip()).startsWith("halcyon: restore of backup b2 failed: chunk " + victim).doesNotContain("\n");
        assertSameContent(target, copy);
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".restore-"));
        }
    }

    @Test
    void badInputGetsOneLineAndChangesNothing() throws Exception {
        String r = repo.dir().toString();
        Path vol = image("vol.qcow2", 64 * MiB);
        var unknown = halcyon("repo", "restore", r, "nope", dir.resolve("x.qcow2").toString());
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.stderr().strip()).isEqualTo("halcyon: no backup nope in the repository");
        assertThat(halcyon("repo", "backup", r, vol.toString(), "--source", "v", "--incremental").stderr())
                .contains("no backup of v to take an incremental relative to");
        assertThat(halcyon("repo", "list", dir.toString()).stderr()).contains("is not a Halcyon backup repository");
        assertThat(halcyon("repo", "prune", r).stderr()).contains("needs at least one of keep-last");
        assertThat(halcyon("repo", "init", dir.resolve("r2").toString(), "--chunk-size", "3MiB").stderr()).contains("power of two");
        // a volume a process holds open for writing is refused, not read inconsistently
        Process io = new ProcessBuilder("qemu-io", "-f", "qcow2", vol.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("hold.log").toFile()).start();
        try {
            io.getOutputStream().write("write -P 1 0 4k\n".getBytes(StandardCharsets.US_ASCII));
            io.getOutputStream().flush();
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(dir.resolve("hold.log")).contains("wrote 4096"));
            var busy = halcyon("repo", "backup", r, vol.toString(), "--source", "v", "--id", "busy");
            assertThat(busy.exit()).isEqualTo(1);
            assertThat(busy.stderr()).contains("lock");
        } finally {
            io.destroyForcibly().waitFor();
        }
        assertThat(repo.backupIds()).isEmpty();
    }

    Process start(String... args) throws IOException {
        var argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", Paths.jar().toString()));
        argv.addAll(List.of(args));
        return new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(dir.resolve("cli-" + UUID.randomUUID() + ".log").toFile())
                .start();
    }

    /** Chunk files now; a directory listing, not a walk, since a collection may be deleting them meanwhile. */
    long chunkFiles() throws IOException {
        long n = 0;
        try (var shards = Files.newDirectoryStream(repo.dir().resolve("chunks"))) {
            for (Path shard : shards) {
                try (var files = Files.newDirectoryStream(shard)) {
                    for (Path f : files) {
                        n += f.getFileName().toString().startsWith(".") ? 0 : 1;
                    }
                }
            }
        }
        return n;
    }

    void verifyOk() {
        var v = halcyon("repo", "verify", repo.dir().toString());
        assertThat(v.exit()).as(v.stdout() + v.stderr()).isZero();
    }
}
