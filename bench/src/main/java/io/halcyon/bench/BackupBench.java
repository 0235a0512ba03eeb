package io.halcyon.bench;

import io.halcyon.backup.QemuImage;
import io.halcyon.backup.VolumeBackups;
import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.Repository;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Backup and restore throughput of a fully written volume against {@code qemu-img convert} of the
 * same volume to a local file, in the same run, and an incremental with 1% changed against the
 * full backup. The volume's content is half random, half repetitive, so zstd has work to do
 * (its compression ratio is printed). Each figure is the median of several runs; the page cache
 * is warm for every contender alike.
 *
 * <p>Usage: BackupBench [SIZE_GIB (4)] [RUNS (3)]
 */
public final class BackupBench {
    static final long MiB = 1 << 20;

    public static void main(String[] args) throws Exception {
        long gib = args.length > 0 ? Long.parseLong(args[0]) : 4;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        long size = gib << 30;
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("bench.dir", "/var/tmp")), "halcyon-backup-bench");
        try {
            Path vol = dir.resolve("vol.qcow2");
            long t = System.nanoTime();
            makeVolume(dir, vol, size);
            System.out.printf("volume: %d GiB qcow2, fully written, made in %.1f s%n", gib, (System.nanoTime() - t) / 1e9);
            var qemuImg = new QemuImage("qemu-img");

            var convertRaw = new Stats();
            var convertQcow2 = new Stats();
            var convertRawSync = new Stats();
            var convertQcow2Sync = new Stats();
            var backup = new Stats();
            var restore = new Stats();
            var incremental = new Stats();
            var incrementalShare = new Stats();
            long stored = 0;
            long incRead = 0;
            for (int r = 0; r < runs; r++) {
                int run = r;
                // qemu-img convert leaves its output in the page cache; a backup is done only once it is on disk,
                // so each convert is timed both ways: to its exit, and to its output fsynced
                for (String fmt : new String[]{"raw", "qcow2"}) {
                    Path out = dir.resolve("copy." + fmt);
                    exec("sync");
                    long c0 = System.nanoTime();
                    exec("qemu-img", "convert", "-f", "qcow2", "-O", fmt, vol.toString(), out.toString());
                    long c1 = System.nanoTime();
                    exec("sync", out.toString());
                    long c2 = System.nanoTime();
                    (fmt.equals("raw") ? convertRaw : convertQcow2).add((c1 - c0) / 1e9);
                    (fmt.equals("raw") ? convertRawSync : convertQcow2Sync).add((c2 - c0) / 1e9);
                    Files.delete(out);
                }
                exec("sync");

                Path repoDir = dir.resolve("repo");
                try (Repository repo = Repository.init(repoDir, 4 * (int) MiB, 1, null)) {
                    var vb = new VolumeBackups(repo, qemuImg, "qemu-nbd", Runtime.getRuntime().availableProcessors());
                    exec("sync");
                    long t0 = System.nanoTime();
                    BackupIndex full = vb.backup(vol, "full" + run, "vol", Map.of(), null, null);
                    double fullS = (System.nanoTime() - t0) / 1e9;
                    backup.add(fullS);
                    stored = full.stats().bytesStored();

                    Path restored = dir.resolve("restored.qcow2");
                    exec("sync");
                    restore.add(seconds(() -> vb.restore("full" + run, restored)));
                    Files.delete(restored);

                    // 1% changed, in 64 KiB writes spread over runs of 1 MiB
                    changeOnePercent(vol, size, run);
                    long t1 = System.nanoTime();
                    BackupIndex inc = vb.backup(vol, "inc" + run, "vol", Map.of(), "full" + run, null);
                    double incS = (System.nanoTime() - t1) / 1e9;
                    incremental.add(incS);
                    incrementalShare.add(100 * incS / fullS);
                    incRead = inc.stats().bytesRead();
                }
                deleteTree(repoDir);
                // the next run's full backup starts without bitmaps of this one
                for (var b : qemuImg.info(vol).bitmaps()) {
                    qemuImg.removeBitmap(vol, b.name());
                }
            }
            double gb = size / 1e9;
            double best = Math.min(convertRaw.median(), convertQcow2.median());
            double bestSync = Math.min(convertRawSync.median(), convertQcow2Sync.median());
            System.out.printf("qemu-img convert to raw:            %s  (%.2f GB/s)%n", convertRaw.summary(" s"), gb / convertRaw.median());
            System.out.printf("qemu-img convert to qcow2:          %s  (%.2f GB/s)%n", convertQcow2.summary(" s"), gb / convertQcow2.median());
            System.out.printf("qemu-img convert to raw + fsync:    %s  (%.2f GB/s)%n", convertRawSync.summary(" s"), gb / convertRawSync.median());
            System.out.printf("qemu-img convert to qcow2 + fsync:  %s  (%.2f GB/s)%n", convertQcow2Sync.summary(" s"),
                    gb / convertQcow2Sync.median());
            System.out.printf("full backup (zstd 1):               %s  (%.2f GB/s), stored %.2f GiB of %d GiB (ratio %.2f)%n",
                    backup.summary(" s"), gb / backup.median(), stored / (double) (1L << 30), gib, size / (double) stored);
            System.out.printf("restore:                            %s  (%.2f GB/s)%n", restore.summary(" s"), gb / restore.median());
            System.out.printf("incremental, 1%% changed:            %s  read %d MiB; %s of the full backup's time%n", incremental.summary(" s"),
                    incRead / MiB, incrementalShare.summary("%"));
            System.out.printf("RATIO against the faster convert, to its exit:   backup %.2f   restore %.2f%n", best / backup.median(),
                    best / restore.median());
            System.out.printf("RATIO against the faster convert, fsynced:       backup %.2f   restore %.2f   (backups and restores fsync)%n",
                    bestSync / backup.median(), bestSync / restore.median());
        } finally {
            deleteTree(dir);
        }
    }

    interface Step {
        void run() throws Exception;
    }

    static double seconds(Step s) throws Exception {
        long t = System.nanoTime();
        s.run();
        return (System.nanoTime() - t) / 1e9;
    }

    static void exec(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", argv) + ": " + new String(out, StandardCharsets.UTF_8));
        }
    }

    /** Half of every 4 KiB random, half a repeated line: compressible about 2:1, like a used disk. */
    static void makeVolume(Path dir, Path vol, long size) throws Exception {
        Path raw = dir.resolve("vol.raw");
        var rnd = new SplittableRandom(42);
        byte[] text = "halcyon backup benchmark line of ordinary text 0123456789\n".repeat(60).getBytes(StandardCharsets.US_ASCII);
        byte[] buf = new byte[(int) (8 * MiB)];
        try (OutputStream out = Files.newOutputStream(raw)) {
            for (long done = 0; done < size; done += buf.length) {
                for (int i = 0; i < buf.length; i += 4096) {
                    for (int j = 0; j < 2048; j += 8) {
                        long v = rnd.nextLong();
                        for (int k = 0; k < 8; k++) {
                            buf[i + j + k] = (byte) (v >>> (8 * k));
                        }
                    }
                    System.arraycopy(text, (int) ((done + i) % 1000), buf, i + 2048, 2048);
                }
                out.write(buf);
            }
        }
        exec("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), vol.toString());
        Files.delete(raw);
    }

    static void changeOnePercent(Path vol, long size, int seed) throws Exception {
        var rnd = new SplittableRandom(seed);
        var cmds = new ArrayList<String>();
        long runs = size / 100 / MiB;
        for (long i = 0; i < runs; i++) {
            long at = rnd.nextLong(size / MiB) * MiB;
            cmds.add("write -q -P " + (1 + rnd.nextInt(250)) + " " + at + " 1M");
        }
        cmds.add("quit");
        Process p = new ProcessBuilder("qemu-io", "-f", "qcow2", vol.toString()).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(String.join("\n", cmds).getBytes(StandardCharsets.US_ASCII));
            in.write('\n');
        }
        p.getInputStream().readAllBytes();
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("qemu-io failed");
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
