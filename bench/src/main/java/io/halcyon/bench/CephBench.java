package io.halcyon.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.halcyon.backup.QemuImage;
import io.halcyon.backup.VolumeBackups;
import io.halcyon.backup.nbd.Extent;
import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.Repository;
import io.halcyon.storage.QemuImg;
import io.halcyon.storage.Rbd;
import io.halcyon.storage.RbdBackend;
import io.halcyon.storage.RbdImages;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.TestCeph;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * The {@code rbd} backend on the test kit's Ceph (one memstore OSD on loopback, so Ceph's own
 * work is measured, not a disk's):
 * <ul>
 * <li>{@code disks}: 50 root disks from a 1 GiB image (1 GiB of random data) as the agents make
 * them, clones of the image's base, against full copies of the same image into the pool
 * ({@code qemu-img convert} into RBD, what a backend without clones does); time and space
 * ({@code rbd du}). Full copies are timed a few times and multiplied by 50.</li>
 * <li>{@code backup}: a 4 GiB RBD volume, fully written, backed up from a snapshot (full), then 1 %
 * changed (41 runs of 1 MiB at random offsets) and backed up incrementally from {@code rbd diff}:
 * bytes read and time, against the full backup.</li>
 * </ul>
 * Usage: CephBench disks|backup [RUNS (3)]
 */
public final class CephBench {
    private static final long MiB = 1L << 20;
    private static final long GiB = 1L << 30;
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "disks";
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("bench.dir", "/var/tmp")), "halcyon-ceph-bench");
        try (TestCeph ceph = TestCeph.start(dir.resolve("ceph"), "127.0.0.1", 1, 10 * GiB)) {
            var rbd = new Rbd(ceph.pool(), ceph.conf(), "admin", 3600);
            switch (mode) {
                case "disks" -> disks(dir, rbd, runs);
                case "backup" -> backup(dir, rbd, runs);
                default -> throw new IllegalArgumentException("usage: CephBench disks|backup [runs]");
            }
        } finally {
            Files2.deleteTree(dir);
        }
        System.exit(0);
    }

    static long used(Rbd rbd, String image) throws Exception {
        JsonNode du = rbd.rbdJson("du", rbd.spec(image));
        long used = 0;
        for (JsonNode i : du.path("images")) {
            used += i.path("used_size").asLong();
        }
        return used;
    }

    static Path randomRaw(Path dir, long size) throws Exception {
        Path raw = dir.resolve("data.raw");
        VolumeBench.run(List.of("sh", "-c", "head -c " + size + " /dev/urandom > " + raw));
        return raw;
    }

    static void disks(Path dir, Rbd rbd, int runs) throws Exception {
        Path raw = randomRaw(dir, GiB);
        Path image = dir.resolve("big.qcow2");
        VolumeBench.run(List.of("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), image.toString()));
        Files.delete(raw);
        var qemuImg = new QemuImg("qemu-img");
        var pool = new RbdImages(rbd, qemuImg);
        String imageId = UUID.randomUUID().toString();
        long t0 = System.nanoTime();
        pool.ensureBase(imageId, image, "qcow2");
        double baseMs = (System.nanoTime() - t0) / 1e6;
        long baseUsed = used(rbd, RbdImages.base(imageId));
        int count = 50;
        var cloneTime = new Stats();
        var cloneEach = new Stats();
        var cloneSpace = new Stats();
        for (int r = 0; r < runs; r++) {
            var names = new ArrayList<String>();
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                String name = RbdImages.server(UUID.randomUUID().toString());
                long s = System.nanoTime();
                pool.cloneBase(imageId, name, GiB);
                cloneEach.add((System.nanoTime() - s) / 1e6);
                names.add(name);
            }
            cloneTime.add((System.nanoTime() - start) / 1e6);
            long space = 0;
            for (String n : names) {
                space += used(rbd, n);
            }
            cloneSpace.add(space / (double) MiB);
            for (String n : names) {
                rbd.remove(n);
            }
        }
        var copyTime = new Stats();
        var copySpace = new Stats();
        for (int r = 0; r < runs; r++) {
            String name = "copy-" + r;
            long start = System.nanoTime();
            qemuImg.convert(image.toString(), "qcow2", rbd.qemuFilename(name, null), "raw");
            copyTime.add((System.nanoTime() - start) / 1e6);
            copySpace.add(used(rbd, name) / (double) MiB);
            rbd.remove(name);
        }
        double h = cloneTime.median();
        double c = copyTime.median() * count;
        double hs = Math.max(cloneSpace.median(), 1.0 / 1024);
        double cs = copySpace.median() * count;
        System.out.printf("ceph root disk benchmark: %d root disks from a 1 GiB image (1 GiB of random data), test Ceph (1 memstore OSD), %d runs%n",
                count, runs);
        System.out.printf("  the image's base (import once per pool)       %.0f ms, %.0f MiB%n", baseMs, baseUsed / (double) MiB);
        System.out.printf("  Halcyon, 50 clones of the base                %s%n", cloneTime.summary(" ms"));
        System.out.printf("  Halcyon, one clone                            %s%n", cloneEach.summary(" ms"));
        System.out.printf("  Halcyon, 50 clones, space (rbd du)            %s%n", cloneSpace.summary(" MiB"));
        System.out.printf("  full copy into the pool (qemu-img convert)    %s%n", copyTime.summary(" ms"));
        System.out.printf("  full copy, space (rbd du)                     %s%n", copySpace.summary(" MiB"));
        System.out.printf("  50 full copies (50 x median)                  %.0f ms, %.0f MiB%n", c, cs);
        System.out.printf("  ratio full copies / clones                    time %.0fx, space %s%n", c / h,
                cloneSpace.median() == 0 ? "(clones take 0 bytes)" : String.format("%.0fx", cs / hs));
    }

    static void backup(Path dir, Rbd rbd, int runs) throws Exception {
        long size = 4 * GiB;
        var backend = new RbdBackend("ceph", rbd, new QemuImg("qemu-img"), 20.0, 0.0, 100 * GiB);
        String volumeId = UUID.randomUUID().toString();
        backend.createBlank(volumeId, size);
        Path raw = randomRaw(dir, size);
        long t = System.nanoTime();
        VolumeBench.run(List.of("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", raw.toString(),
                rbd.qemuFilename(RbdImages.volume(volumeId), null)));
        Files.delete(raw);
        System.out.printf("volume: 4 GiB RBD image, fully written (random data), in %.1f s%n", (System.nanoTime() - t) / 1e9);
        var full = new Stats();
        var inc = new Stats();
        var fullRead = new Stats();
        var incRead = new Stats();
        var rnd = new SplittableRandom(7);
        long changed = size / 100;
        for (int r = 0; r < runs; r++) {
            Path repoDir = dir.resolve("repo-" + r);
            try (Repository repo = Repository.init(repoDir, 4 * (int) MiB, 1, null)) {
                var vb = new VolumeBackups(repo, new QemuImage("qemu-img"), "qemu-nbd", Runtime.getRuntime().availableProcessors());
                String b1 = UUID.randomUUID().toString();
                long s = System.nanoTime();
                String snap1 = backend.snapshotForBackup(volumeId, b1);
                BackupIndex i1 = vb.backupSnapshot(snap1, b1, volumeId, Map.of(), null, null, null, null);
                backend.keepOnlyBackupSnapshot(volumeId, b1);
                full.add((System.nanoTime() - s) / 1e9);
                fullRead.add(i1.stats().bytesRead() / (double) MiB);

                var writes = new StringBuilder();
                for (long done = 0; done < changed; done += MiB) {
                    long at = rnd.nextLong(size / MiB) * MiB;
                    writes.append(" -c ").append("'write -P ").append(1 + rnd.nextInt(250)).append(' ').append(at).append(" 1M'");
                }
                VolumeBench.run(List.of("sh", "-c", "qemu-io -f raw" + writes + " " + rbd.qemuFilename(RbdImages.volume(volumeId), null)
                        + " > /dev/null"));

                String b2 = UUID.randomUUID().toString();
                s = System.nanoTime();
                String snap2 = backend.snapshotForBackup(volumeId, b2);
                var c = backend.changedSince(volumeId, b1, b2);
                var extents = c.ranges().stream().map(x -> new Extent(x[0], x[1], Extent.DIRTY)).toList();
                BackupIndex i2 = vb.backupSnapshot(snap2, b2, volumeId, Map.of(), b1, extents, c.reason(), null);
                backend.keepOnlyBackupSnapshot(volumeId, b2);
                inc.add((System.nanoTime() - s) / 1e9);
                incRead.add(i2.stats().bytesRead() / (double) MiB);
                if (!i2.mode().equals(BackupIndex.RBD_DIFF)) {
                    throw new IllegalStateException("the incremental ran as " + i2.mode() + ": " + i2.note());
                }
            }
            Files2.deleteTree(repoDir);
        }
        System.out.printf("ceph backup benchmark: 4 GiB RBD volume, random data, test Ceph (1 memstore OSD), %d runs%n", runs);
        System.out.printf("  full backup (snapshot, allocated extents)     %s%n", full.summary(" s"));
        System.out.printf("  full backup, read                             %s%n", fullRead.summary(" MiB"));
        System.out.printf("  1%% changed (%d MiB in 1 MiB runs), incremental %s%n", changed / MiB, inc.summary(" s"));
        System.out.printf("  incremental, read                             %s%n", incRead.summary(" MiB"));
        System.out.printf("  incremental / full                            time %.3f, bytes read %.3f%n", inc.median() / full.median(),
                incRead.median() / fullRead.median());
    }
}
