package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.OpenStackCli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.halcyon.it.CliOutput.fails;
import static io.halcyon.it.CliOutput.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Cinder backups end to end with Debian's real {@code openstack} CLI: a full backup of a volume
 * made from the tiny image, an incremental after the volume changed (reading only the change,
 * through the volume's dirty bitmap), a restore into a new volume that is byte-identical to the
 * source and boots a guest, and Cinder's rules: a backup that incrementals depend on is not
 * deleted, a restore needs an available volume at least as large, an unknown backup is a 404.
 * And a running guest's boot volume backed up through its QEMU while the guest writes a journal
 * of 4 KiB blocks, each durable before the next: each restored backup holds an unbroken journal
 * and nothing after it (the volume at one instant), the incremental's instant lies between its
 * request and its end, and the restored volume boots.
 */
class VolumeBackupCliE2EIT {
    static final long MiB = 1 << 20;
    private static TestCloud cloud;
    private static OpenStackCli cli;

    @BeforeAll
    static void up() throws Exception {
        cloud = TestCloud.startWithHost("h1");
        cli = cloud.adminCli();
        // more backups than Cinder's default quota of 10 live at once here
        cli.ok("quota", "set", "--backups", "100", "--backup-gigabytes", "1000", "admin");
    }

    @AfterAll
    static void down() {
        if (cloud != null) {
            cloud.close();
        }
    }

    static JsonNode backup(String name) {
        return json(cli.ok("volume", "backup", "show", name, "-f", "json"));
    }

    static JsonNode awaitBackup(String name, String status) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> backup(name).path("status").asText().equals(status));
        return backup(name);
    }

    static void awaitVolume(String volume, String status) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                .until(() -> cli.ok("volume", "show", volume, "-f", "value", "-c", "status").trim().equals(status));
    }

    static String volumeId(String name) {
        return cli.ok("volume", "show", name, "-f", "value", "-c", "id").trim();
    }

    static Path file(String volumeId) {
        return StorageFiles.root(cloud.dir).resolve("volumes").resolve(volumeId + ".qcow2");
    }

    static Command.Result run(String... argv) {
        return Command.run(List.of(argv), Map.of(), Duration.ofMinutes(2));
    }

    static final long PATTERN_AT = 100 * MiB;
    static final int PATTERN_LEN = 8 << 20;
    static final long JOURNAL_AT = 200 * MiB;

    /** User data: 8 MiB of 'A', then a journal of 4 KiB blocks, each durable before the next is written, forever. */
    static final String WRITER = """
            #!/bin/sh
            yes A | tr -d '\\n' | head -c %d | dd of=/dev/vda bs=1M seek=100 conv=fsync 2>/dev/null
            echo "pattern written"
            i=0
            while true; do
              printf 'halcyon-journal %%08d\\n' $i | dd of=/dev/vda bs=4096 seek=$((%d + i)) conv=sync,fsync 2>/dev/null
              i=$((i + 1))
              echo "journal $i"
              usleep 20000
            done
            """.formatted(PATTERN_LEN, JOURNAL_AT / 4096);

    static int lastJournal(String console) {
        var m = java.util.regex.Pattern.compile("journal (\\d+)").matcher(console);
        int last = 0;
        while (m.find()) {
            last = Integer.parseInt(m.group(1));
        }
        return last;
    }

    /** The journal a restored volume holds: how many blocks, checking they form an unbroken prefix with nothing torn after it. */
    static int journalIn(java.nio.file.Path raw) throws Exception {
        try (var f = new java.io.RandomAccessFile(raw.toFile(), "r")) {
            byte[] block = new byte[4096];
            int n = 0;
            while (true) {
                f.seek(JOURNAL_AT + (long) n * 4096);
                f.readFully(block);
                String want = String.format("halcyon-journal %08d\n", n);
                if (new String(block, 0, want.length(), java.nio.charset.StandardCharsets.US_ASCII).equals(want)) {
                    for (int i = want.length(); i < 4096; i++) {
                        assertThat(block[i]).as("journal block %d is padded with zeros", n).isZero();
                    }
                    n++;
                    continue;
                }
                for (int k = 0; k < 256; k++) {
                    f.seek(JOURNAL_AT + (long) (n + k) * 4096);
                    f.readFully(block);
                    for (byte b : block) {
                        assertThat(b).as("nothing after journal block %d", n).isZero();
                    }
                }
                return n;
            }
        }
    }

    static java.nio.file.Path raw(String volume) {
        java.nio.file.Path out = cloud.dir.resolve(volume + ".raw");
        run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", file(volumeId(volume)).toString(), out.toString()).orThrow();
        return out;
    }

    static String sha256(java.nio.file.Path raw, long from, long len) throws Exception {
        var md = java.security.MessageDigest.getInstance("SHA-256");
        try (var f = new java.io.RandomAccessFile(raw.toFile(), "r")) {
            byte[] buf = new byte[1 << 20];
            f.seek(from);
            for (long done = 0; done < len; ) {
                int n = f.read(buf, 0, (int) Math.min(buf.length, len - done));
                md.update(buf, 0, n);
                done += n;
            }
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    @Test
    void aRunningGuestIsBackedUpAtOnePointInTimeWhileItKeepsWriting() throws Exception {
        cli.ok("volume", "create", "--image", "tiny", "--size", "1", "live");
        awaitVolume("live", "available");
        Path ud = cloud.dir.resolve("writer.sh");
        Files.writeString(ud, WRITER);
        JsonNode s = json(cli.ok("server", "create", "--flavor", "m1.tiny", "--volume", "live", "--user-data", ud.toString(), "--wait",
                "writer", "-f", "json"));
        assertThat(s.path("status").asText()).isEqualTo("ACTIVE");
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                .until(() -> lastJournal(cli.ok("console", "log", "show", "writer")) >= 20);

        fails(cli.run("volume", "backup", "create", "--name", "nf", "live"), "Backing up an in-use volume must use the force flag");
        cli.ok("volume", "backup", "create", "--force", "--name", "live-full", "live");
        JsonNode full = awaitBackup("live-full", "available");
        assertThat(full.path("halcyon:mode").asText()).isEqualTo("full");
        awaitVolume("live", "in-use");
        int before = lastJournal(cli.ok("console", "log", "show", "writer"));
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> lastJournal(cli.ok("console", "log", "show", "writer")) >= before + 20);

        // the guest keeps writing while the incremental runs
        int atRequest = lastJournal(cli.ok("console", "log", "show", "writer"));
        cli.ok("volume", "backup", "create", "--force", "--incremental", "--name", "live-inc", "live");
        JsonNode inc = awaitBackup("live-inc", "available");
        int atDone = lastJournal(cli.ok("console", "log", "show", "writer"));
        assertThat(inc.path("is_incremental").asBoolean()).isTrue();
        assertThat(inc.path("halcyon:mode").asText()).isEqualTo("bitmap");
        assertThat(inc.path("halcyon:bytes_read").asLong()).isLessThan(32 * MiB);
        awaitVolume("live", "in-use");
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                .until(() -> lastJournal(cli.ok("console", "log", "show", "writer")) >= atDone + 10);

        // the volume is destroyed
        cli.ok("server", "delete", "--wait", "writer");
        awaitVolume("live", "available");
        cli.ok("volume", "delete", "live");

        for (String[] r : new String[][]{{"live-full", "from-full"}, {"live-inc", "from-inc"}}) {
            var restore = cli.run("volume", "backup", "restore", r[0], r[1]);
            assertThat(restore.exit() == 0 || restore.stderr().contains("cannot unpack non-iterable VolumeBackupsRestore object"))
                    .as(restore.stderr()).isTrue();
            awaitVolume(r[1], "available");
        }
        Path fromFull = raw("from-full");
        Path fromInc = raw("from-inc");
        int m1 = journalIn(fromFull);
        int m2 = journalIn(fromInc);
        System.out.printf("journal: %d blocks in the full backup, %d in the incremental (requested at %d, done by %d)%n", m1, m2,
                atRequest, atDone);
        // each backup is the volume at one instant: an unbroken journal, then nothing, and the
        // incremental's instant lies between its request and its end
        assertThat(m1).isGreaterThanOrEqualTo(20).isLessThan(m2);
        assertThat(m2).isGreaterThanOrEqualTo(atRequest - 1).isLessThanOrEqualTo(atDone + 3);
        try (var f = new java.io.RandomAccessFile(fromInc.toFile(), "r")) {
            byte[] a = new byte[PATTERN_LEN];
            f.seek(PATTERN_AT);
            f.readFully(a);
            for (byte b : a) {
                assertThat(b).isEqualTo((byte) 'A');
            }
        }
        // outside the journal, the incremental holds exactly what the full backup held
        assertThat(sha256(fromInc, 0, JOURNAL_AT)).isEqualTo(sha256(fromFull, 0, JOURNAL_AT));

        // and the guest boots from it
        JsonNode again = json(cli.ok("server", "create", "--flavor", "m1.tiny", "--volume", "from-inc", "--wait", "again", "-f", "json"));
        assertThat(again.path("status").asText()).isEqualTo("ACTIVE");
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                .until(() -> cli.ok("console", "log", "show", "again").contains("halcyon-guest: ready"));
        cli.ok("server", "delete", "--wait", "again");
        Files.deleteIfExists(fromFull);
        Files.deleteIfExists(fromInc);
        fails(cli.run("volume", "backup", "delete", "live-full"), "Incremental backups exist for this backup");
        cli.ok("volume", "backup", "delete", "live-inc");
        await().atMost(Duration.ofSeconds(60)).until(() -> !cli.ok("volume", "backup", "list", "-f", "value", "-c", "Name").contains("live-inc"));
        cli.ok("volume", "backup", "delete", "live-full");
    }

    @Test
    void aPolicyTakesBackupsOnScheduleAndPrunesWhatItsRetentionDropsKeepingTheRestWhole() throws Exception {
        cli.ok("volume", "create", "--image", "tiny", "--size", "1", "pv");
        awaitVolume("pv", "available");
        String vol = volumeId("pv");
        ApiClient api = cloud.admin();
        var created = api.post("/halcyon/v1/backup-policies", Map.of("backup_policy", Map.of("volume_id", vol, "interval", "1d",
                "keep_last", 1, "full_every", 7)));
        assertThat(created.status()).as(created.raw()).isEqualTo(201);
        String policy = created.body().path("backup_policy").path("id").asText();
        assertThat(api.post("/halcyon/v1/backup-policies", Map.of("backup_policy", Map.of("volume_id", vol, "interval", "1d",
                "keep_last", 1))).status()).isEqualTo(409);
        // due at once: the leader takes the first (full) backup
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> available(api, vol).size() == 1);
        JsonNode first = available(api, vol).get(0);
        assertThat(first.path("is_incremental").asBoolean()).isFalse();
        // run now: an incremental, then the retention (keep 1) drops the full one and the incremental stands alone
        assertThat(api.post("/halcyon/v1/backup-policies/" + policy + "/run", null).status()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
            var left = available(api, vol);
            return left.size() == 1 && !left.get(0).path("id").asText().equals(first.path("id").asText())
                    && api.get(api.volumes() + "/backups/detail?volume_id=" + vol).body().path("backups").size() == 1;
        });
        JsonNode second = available(api, vol).get(0);
        assertThat(second.path("is_incremental").asBoolean()).isFalse();
        assertThat(second.path("halcyon:mode").asText()).isEqualTo("bitmap");
        assertThat(api.get("/halcyon/v1/backup-policies/" + policy).body().path("backup_policy").path("last_run_at").isNull()).isFalse();
        assertThat(api.delete("/halcyon/v1/backup-policies/" + policy).status()).isEqualTo(204);
        cli.ok("volume", "backup", "delete", second.path("id").asText());
        await().atMost(Duration.ofSeconds(60)).until(() -> api.get(api.volumes() + "/backups/detail?volume_id=" + vol).body()
                .path("backups").isEmpty());
    }

    static List<JsonNode> available(ApiClient api, String volumeId) throws Exception {
        var out = new java.util.ArrayList<JsonNode>();
        for (JsonNode b : api.get(api.volumes() + "/backups/detail?volume_id=" + volumeId).body().path("backups")) {
            if (b.path("status").asText().equals("available")) {
                out.add(b);
            }
        }
        return out;
    }

    @Test
    void fullIncrementalRestoreAndTheRules() throws Exception {
        cli.ok("volume", "create", "--image", "tiny", "--size", "2", "src");
        awaitVolume("src", "available");
        String src = volumeId("src");

        JsonNode created = json(cli.ok("volume", "backup", "create", "--name", "b1", "src", "-f", "json"));
        assertThat(created.path("id").asText()).isNotEmpty();
        JsonNode b1 = awaitBackup("b1", "available");
        assertThat(b1.path("is_incremental").asBoolean()).isFalse();
        assertThat(b1.path("size").asInt()).isEqualTo(2);
        assertThat(b1.path("halcyon:mode").asText()).isEqualTo("full");
        // the tiny image is about 16 MB of a 2 GiB volume: only that is read
        assertThat(b1.path("halcyon:bytes_read").asLong()).isPositive().isLessThan(64 * MiB);
        awaitVolume("src", "available");

        // the volume changes at rest; the next incremental reads only the change
        run("qemu-io", "-f", "qcow2", "-c", "write -P 7 1G 3M", file(src).toString()).orThrow();
        cli.ok("volume", "backup", "create", "--incremental", "--name", "b2", "src");
        JsonNode b2 = awaitBackup("b2", "available");
        assertThat(b2.path("is_incremental").asBoolean()).isTrue();
        assertThat(b2.path("halcyon:mode").asText()).isEqualTo("bitmap");
        assertThat(b2.path("halcyon:bytes_read").asLong()).isBetween(3 * MiB, 4 * MiB);
        assertThat(backup("b1").path("has_dependent_backups").asBoolean()).isTrue();
        assertThat(cli.ok("volume", "backup", "list", "-f", "value", "-c", "Name")).contains("b1", "b2");

        fails(cli.run("volume", "backup", "delete", "b1"), "Incremental backups exist for this backup");
        assertThat(backup("b1").path("status").asText()).isEqualTo("available");

        // the Debian client exits 1 after a successful restore (fixed upstream in 7.3.0): check the effect
        var restore = cli.run("volume", "backup", "restore", "b2", "restored");
        assertThat(restore.exit() == 0 || restore.stderr().contains("cannot unpack non-iterable VolumeBackupsRestore object"))
                .as(restore.stderr()).isTrue();
        awaitVolume("restored", "available");
        String restored = volumeId("restored");
        assertThat(run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", file(src).toString(), file(restored).toString()).exit())
                .isZero();
        assertThat(cli.ok("volume", "show", "restored", "-f", "value", "-c", "bootable").trim()).isEqualTo("true");
        assertThat(backup("b2").path("status").asText()).isEqualTo("available");

        // the restored volume boots a guest
        JsonNode s = json(cli.ok("server", "create", "--flavor", "m1.tiny", "--volume", "restored", "--wait", "vm", "-f", "json"));
        assertThat(s.path("status").asText()).isEqualTo("ACTIVE");
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                .until(() -> cli.ok("console", "log", "show", "vm").contains("halcyon-guest: ready"));

        // bad input: each a clear 4xx, nothing changed
        ApiClient api = cloud.admin();
        var attached = api.post(api.volumes() + "/backups/" + b2.path("id").asText() + "/restore", Map.of("restore", Map.of("volume_id", restored)));
        assertThat(attached.status()).isEqualTo(400);
        assertThat(attached.raw()).contains("must be available");
        cli.ok("volume", "create", "--size", "1", "small");
        awaitVolume("small", "available");
        var smaller = api.post(api.volumes() + "/backups/" + b2.path("id").asText() + "/restore",
                Map.of("restore", Map.of("volume_id", volumeId("small"))));
        assertThat(smaller.status()).isEqualTo(400);
        assertThat(smaller.raw()).contains("volume size 1 is smaller than backup size 2");
        assertThat(cli.ok("volume", "show", "small", "-f", "value", "-c", "status").trim()).isEqualTo("available");
        assertThat(api.post(api.volumes() + "/backups/no-such-backup/restore", Map.of("restore", Map.of())).status()).isEqualTo(404);
        fails(cli.run("volume", "backup", "show", "no-such-backup"), "No volumebackup with a name or ID of 'no-such-backup' exists");
        fails(cli.run("volume", "backup", "create", "restored"), "Backing up an in-use volume must use the force flag");
        assertThat(api.post(api.volumes() + "/backups", Map.of("backup", Map.of("volume_id", src, "incremental", "maybe"))).status())
                .isEqualTo(400);
        assertThat(api.post(api.volumes() + "/backups", Map.of("backup", Map.of("name", "no volume"))).status()).isEqualTo(400);
        assertThat(api.post(api.volumes() + "/backups", Map.of("backup", Map.of("volume_id", src, "container", "other"))).status())
                .isEqualTo(400);
        cli.ok("volume", "create", "--size", "1", "fresh");
        awaitVolume("fresh", "available");
        fails(cli.run("volume", "backup", "create", "--incremental", "fresh"), "No backups available to do an incremental backup");

        // deleting the newest first, then the one it depended on
        cli.ok("volume", "backup", "delete", "b2");
        await().atMost(Duration.ofSeconds(60)).until(() -> !cli.ok("volume", "backup", "list", "-f", "value", "-c", "Name").contains("b2"));
        cli.ok("volume", "backup", "delete", "b1");
        await().atMost(Duration.ofSeconds(60)).until(() -> !cli.ok("volume", "backup", "list", "-f", "value", "-c", "Name").contains("b1"));
        Path indexes = cloud.dir.resolve("data/storage/backups/indexes");
        assertThat(indexes.resolve(b1.path("id").asText() + ".json")).doesNotExist();
        assertThat(indexes.resolve(b2.path("id").asText() + ".json")).doesNotExist();
    }
}
