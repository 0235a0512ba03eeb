package io.halcyon.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.halcyon.backup.QemuImage;
import io.halcyon.backup.VolumeBackups;
import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.GarbageCollector;
import io.halcyon.backup.repo.Keys;
import io.halcyon.backup.repo.Pruner;
import io.halcyon.backup.repo.Repository;
import io.halcyon.backup.repo.RepositoryConfig;
import io.halcyon.backup.repo.RepositoryException;
import io.halcyon.backup.repo.Retention;
import io.halcyon.backup.repo.Verifier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * {@code halcyon repo}: a backup repository worked on directly, without the cloud: to restore a
 * volume when the cloud is down, to check a repository, and to back up an image by hand.
 */
final class RepoCommands {
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT);

    private RepoCommands() {
    }

    @Command(name = "repo", description = "Work on a backup repository directly (init, backup, restore, list, verify, prune, gc).",
            subcommands = {Init.class, Backup.class, Restore.class, ListCmd.class, Show.class, Verify.class, Delete.class, Prune.class,
                    Gc.class})
    static final class RepoCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            new CommandLine(this).usage(System.out);
            return 2;
        }
    }

    /** Options every subcommand shares; errors become one line and exit 1. */
    abstract static class Base implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR", description = "the repository's directory")
        Path dir;

        @Option(names = "--key-file", description = "the key of an encrypted repository (base64 of 32 bytes)")
        Path keyFile;

        @Option(names = "--threads", description = "worker threads (default: the number of CPUs)")
        Integer threads;

        int threads() {
            int t = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
            if (t < 1 || t > 64) {
                throw new RepositoryException("--threads must be 1 to 64, not " + t);
            }
            return t;
        }

        Keys keys() throws IOException {
            if (keyFile == null) {
                return null;
            }
            if (!Files.isReadable(keyFile)) {
                throw new RepositoryException("cannot read the key file " + keyFile);
            }
            return Keys.fromBase64(Files.readString(keyFile));
        }

        static void checkFormat(String format) {
            if (!format.equals("text") && !format.equals("json")) {
                throw new RepositoryException("--format must be text or json, not " + format);
            }
        }

        Repository open() throws IOException {
            return Repository.open(dir, keys());
        }

        @Override
        public final Integer call() {
            try {
                return run();
            } catch (RepositoryException | IOException | IllegalArgumentException e) {
                System.err.println("halcyon: " + e.getMessage());
                return 1;
            }
        }

        abstract int run() throws IOException;
    }

    @Command(name = "init", description = "Make a repository in an empty directory.")
    static final class Init extends Base {
        @Option(names = "--chunk-size", defaultValue = "4MiB", description = "power of two, 64KiB to 64MiB (default ${DEFAULT-VALUE})")
        String chunkSize;

        @Option(names = "--zstd-level", defaultValue = "1", description = "zstd level of new chunks, or 'none' (default ${DEFAULT-VALUE})")
        String level;

        @Option(names = "--new-key", description = "encrypt: make a new key and write it to this file (keep it safe: without it nothing restores)")
        Path newKey;

        @Override
        int run() throws IOException {
            Integer zstd = level.equals("none") ? null : parseLevel(level);
            Keys keys = keys();
            if (newKey != null) {
                if (keys != null) {
                    throw new RepositoryException("give --key-file or --new-key, not both");
                }
                if (Files.exists(newKey)) {
                    throw new RepositoryException(newKey + " exists: --new-key never overwrites a key");
                }
                String k = Keys.generate();
                Files.writeString(newKey, k + "\n");
                Files.setPosixFilePermissions(newKey, PosixFilePermissions.fromString("rw-------"));
                keys = Keys.fromBase64(k);
            }
            long size = parseSize(chunkSize);
            RepositoryConfig.checkChunkSize(size);
            try (Repository r = Repository.init(dir, (int) size, zstd, keys)) {
                System.out.printf("repository %s in %s: chunks of %s, %s, %s%n", r.config().id(), dir, chunkSize,
                        zstd == null ? "not compressed" : "zstd level " + zstd, keys == null ? "not encrypted" : "AES-256-GCM");
            }
            return 0;
        }

        private static int parseLevel(String s) {
            try {
                int l = Integer.parseInt(s);
                if (l < -7 || l > 22) {
                    throw new NumberFormatException();
                }
                return l;
            } catch (NumberFormatException e) {
                throw new RepositoryException("--zstd-level must be -7 to 22 or 'none', not " + s);
            }
        }
    }

    @Command(name = "backup", description = "Back up a qcow2 image no guest has open.")
    static final class Backup extends Base {
        @Parameters(index = "1", paramLabel = "IMAGE", description = "the qcow2 image")
        Path image;

        @Option(names = "--source", required = true, description = "what the image is (a volume id): backups of one source are pruned together")
        String source;

        @Option(names = "--id", description = "the new backup's id (default: a new UUID)")
        String id;

        @Option(names = "--incremental", description = "relative to the newest backup of the same source")
        boolean incremental;

        @Option(names = "--parent", description = "relative to this backup")
        String parent;

        @Option(names = "--format", defaultValue = "text", description = "text or json")
        String format;

        @Override
        int run() throws IOException {
            checkFormat(format);
            if (!Files.isRegularFile(image)) {
                throw new RepositoryException("there is no image at " + image);
            }
            try (Repository r = open()) {
                String p = parent;
                if (incremental && p == null) {
                    p = r.indexes().stream().filter(i -> i.source().equals(source)).max(Comparator.comparing(BackupIndex::createdAt))
                            .map(BackupIndex::id).orElseThrow(() -> new RepositoryException("no backup of " + source
                                    + " to take an incremental relative to"));
                }
                var vb = new VolumeBackups(r, new QemuImage("qemu-img"), "qemu-nbd", threads());
                BackupIndex b = vb.backup(image, id == null ? UUID.randomUUID().toString() : id, source, Map.of(), p, null);
                print(b, format);
            }
            return 0;
        }
    }

    @Command(name = "restore", description = "Restore a backup to a qcow2 image: a new one, or over one no guest has open.")
    static final class Restore extends Base {
        @Parameters(index = "1", paramLabel = "BACKUP")
        String backup;

        @Parameters(index = "2", paramLabel = "TARGET", description = "the qcow2 image to write (replaced only once the restore succeeded)")
        Path target;

        @Override
        int run() throws IOException {
            try (Repository r = open()) {
                var res = new VolumeBackups(r, new QemuImage("qemu-img"), "qemu-nbd", threads()).restore(backup, target);
                System.out.printf("restored backup %s to %s: %d bytes written, %d left sparse, %d ms%n", backup, target,
                        res.bytesWritten(), res.bytesSkipped(), res.millis());
            }
            return 0;
        }
    }

    @Command(name = "list", description = "The repository's backups, oldest first.")
    static final class ListCmd extends Base {
        @Option(names = "--source", description = "only this source's")
        String source;

        @Option(names = "--format", defaultValue = "text", description = "text or json")
        String format;

        @Override
        int run() throws IOException {
            checkFormat(format);
            try (Repository r = open()) {
                List<BackupIndex> all = r.indexes().stream().filter(i -> source == null || source.equals(i.source())).toList();
                if (format.equals("json")) {
                    System.out.println(JSON.writeValueAsString(all.stream().map(RepoCommands::summary).toList()));
                } else {
                    System.out.printf("%-36s  %-20s  %-24s  %-12s  %10s  %10s%n", "ID", "SOURCE", "CREATED", "MODE", "SIZE", "READ");
                    for (BackupIndex i : all) {
                        System.out.printf("%-36s  %-20s  %-24s  %-12s  %10s  %10s%n", i.id(), i.source(), i.createdAt(), i.mode(),
                                human(i.size()), human(i.stats().bytesRead()));
                    }
                }
            }
            return 0;
        }
    }

    @Command(name = "show", description = "One backup: what it holds and what it cost.")
    static final class Show extends Base {
        @Parameters(index = "1", paramLabel = "BACKUP")
        String backup;

        @Override
        int run() throws IOException {
            try (Repository r = open()) {
                System.out.println(JSON.writeValueAsString(summary(r.readIndex(backup))));
            }
            return 0;
        }
    }

    @Command(name = "verify", description = "Re-read and re-hash every chunk of some backups, or of all; exit 1 when anything is damaged.")
    static final class Verify extends Base {
        @Parameters(index = "1..*", paramLabel = "BACKUP", description = "the backups to verify (default: all)")
        List<String> backups = List.of();

        @Override
        int run() throws IOException {
            try (Repository r = open()) {
                Verifier.Result res = new Verifier(r, threads()).verify(backups);
                res.damagedIndexes().forEach((b, why) -> System.out.println("DAMAGED " + why));
                res.badChunks().forEach((c, why) -> System.out.println("DAMAGED " + why + "; used by " + String.join(", ", res.usedBy().get(c))));
                System.out.printf("%s: %d backups, %d chunks, %s checked%n", res.ok() ? "ok" : "FAILED", res.backups(), res.chunks(),
                        human(res.bytes()));
                return res.ok() ? 0 : 1;
            }
        }
    }

    @Command(name = "delete", description = "Delete one backup (its chunks go at the next gc).")
    static final class Delete extends Base {
        @Parameters(index = "1", paramLabel = "BACKUP")
        String backup;

        @Override
        int run() throws IOException {
            try (Repository r = open()) {
                r.deleteIndex(backup);
                System.out.println("deleted backup " + backup);
            }
            return 0;
        }
    }

    @Command(name = "prune", description = "Delete the backups a retention policy does not keep, per source.")
    static final class Prune extends Base {
        @Option(names = "--keep-last", defaultValue = "0")
        int last;
        @Option(names = "--keep-daily", defaultValue = "0")
        int daily;
        @Option(names = "--keep-weekly", defaultValue = "0")
        int weekly;
        @Option(names = "--keep-monthly", defaultValue = "0")
        int monthly;
        @Option(names = "--source", description = "only this source's backups")
        String source;
        @Option(names = "--dry-run", description = "say what would go, delete nothing")
        boolean dryRun;

        @Override
        int run() throws IOException {
            var policy = new Retention(last, daily, weekly, monthly);
            try (Repository r = open()) {
                Pruner.Result res = new Pruner(r).prune(policy, source, dryRun);
                res.kept().forEach((id, why) -> System.out.println("keep    " + id + " (" + why + ")"));
                res.removed().forEach(id -> System.out.println((dryRun ? "would remove " : "removed ") + id));
            }
            return 0;
        }
    }

    @Command(name = "gc", description = "Remove chunks no backup uses; safe while backups run.")
    static final class Gc extends Base {
        @Option(names = "--grace", defaultValue = "5m", description = "spare chunks younger than this (clock skew between hosts; default ${DEFAULT-VALUE})")
        String grace;

        @Override
        int run() throws IOException {
            try (Repository r = open()) {
                var res = new GarbageCollector(r, parseDuration(grace), Duration.ofHours(1)).run();
                System.out.printf("removed %d chunks (%s), kept %d; %d leftover temporary files, %d stale backups%n", res.chunksRemoved(),
                        human(res.bytesFreed()), res.chunksKept(), res.temporaryRemoved(), res.staleWriters());
            }
            return 0;
        }
    }

    static Map<String, Object> summary(BackupIndex i) {
        var m = new java.util.LinkedHashMap<String, Object>();
        m.put("id", i.id());
        m.put("source", i.source());
        m.put("createdAt", i.createdAt());
        m.put("parent", i.parent());
        m.put("mode", i.mode());
        m.put("note", i.note());
        m.put("size", i.size());
        m.put("chunkSize", i.chunkSize());
        m.put("chunks", i.chunkIds().size());
        m.put("holes", i.chunks().stream().filter(c -> c == null).count());
        m.put("stats", i.stats());
        m.put("labels", i.labels());
        return m;
    }

    static void print(BackupIndex b, String format) throws IOException {
        if (format.equals("json")) {
            System.out.println(JSON.writeValueAsString(summary(b)));
            return;
        }
        var s = b.stats();
        System.out.printf("backup %s of %s (%s%s): %s volume, read %s, stored %s, skipped %s; chunks: %d new, %d reused, %d holes; %d ms%n",
                b.id(), b.source(), b.mode(), b.note() == null ? "" : ": " + b.note(), human(b.size()), human(s.bytesRead()),
                human(s.bytesStored()), human(s.bytesSkipped()), s.chunksNew(), s.chunksReused(), s.chunksZero(), s.millis());
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    static long parseSize(String s) {
        var m = java.util.regex.Pattern.compile("(\\d+)\\s*(|[KMG]i?B?|B)", java.util.regex.Pattern.CASE_INSENSITIVE).matcher(s.strip());
        if (!m.matches()) {
            throw new RepositoryException("'" + s + "' is not a size (e.g. 4MiB, 65536)");
        }
        long n = Long.parseLong(m.group(1));
        String u = m.group(2).toUpperCase(Locale.ROOT);
        return u.startsWith("K") ? n << 10 : u.startsWith("M") ? n << 20 : u.startsWith("G") ? n << 30 : n;
    }

    static Duration parseDuration(String s) {
        var m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h)").matcher(s.strip());
        if (!m.matches()) {
            throw new RepositoryException("'" + s + "' is not a duration (e.g. 0s, 5m, 1h)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }
}
