package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.TestCeph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Cinder backups of volumes on a real Ceph: the full backup reads only the allocated extents of
 * an RBD snapshot, the incremental only the ranges {@code rbd diff --from-snap} reports changed
 * (the byte counters show it), each volume keeps one backup snapshot, and both restore onto new
 * Ceph volumes byte for byte.
 */
class CephBackupIT {
    static final long MiB = 1 << 20;
    private static TestCeph ceph;
    private static TestCloud cloud;
    private static ApiClient api;

    @BeforeAll
    static void up() throws Exception {
        Files.createDirectories(Paths.work());
        ceph = TestCeph.start(Files.createTempDirectory(Paths.work(), "ceph"));
        cloud = TestCloud.start(TestCloud.cephStorageYaml(ceph));
        api = cloud.admin();
    }

    @AfterAll
    static void down() {
        if (cloud != null) {
            cloud.close();
        }
        if (ceph != null) {
            ceph.close();
        }
    }

    static String rbdName(String volumeId) {
        return "rbd:" + ceph.pool() + "/volume-" + volumeId + ":conf=" + ceph.conf();
    }

    static void write(String volumeId, String pattern, long offset, long length) {
        var r = Command.run(List.of("qemu-io", "-f", "raw", "-c", "write -P " + pattern + " " + offset + " " + length, rbdName(volumeId)),
                Map.of(), Duration.ofSeconds(60));
        assertThat(r.exit()).as(r.stdout() + r.stderr()).isZero();
    }

    static JsonNode volume(String id) throws Exception {
        return api.get(api.volumes() + "/volumes/" + id).body().path("volume");
    }

    static String createVolume(String name) throws Exception {
        var r = api.post(api.volumes() + "/volumes", Map.of("volume", Map.of("name", name, "size", 1, "volume_type", "ceph")));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("volume").path("id").asText();
        await().atMost(Duration.ofSeconds(60)).until(() -> volume(id).path("status").asText().equals("available"));
        return id;
    }

    static JsonNode backup(String volumeId, boolean incremental) throws Exception {
        var r = api.post(api.volumes() + "/backups", Map.of("backup", Map.of("volume_id", volumeId, "incremental", incremental)));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("backup").path("id").asText();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> !api.get(api.volumes() + "/backups/" + id)
                .body().path("backup").path("status").asText().equals("creating"));
        JsonNode b = api.get(api.volumes() + "/backups/" + id).body().path("backup");
        assertThat(b.path("status").asText()).as(b.toString()).isEqualTo("available");
        return b;
    }

    static String restore(String backupId, String name) throws Exception {
        var r = api.post(api.volumes() + "/backups/" + backupId + "/restore", Map.of("restore", Map.of("name", name)));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("restore").path("volume_id").asText();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> volume(id).path("status").asText()
                .equals("available"));
        return id;
    }

    static void assertSame(String qemuNameA, String formatA, String qemuNameB) {
        var r = Command.run(List.of("qemu-img", "compare", "-f", formatA, "-F", "raw", qemuNameA, qemuNameB), Map.of(), Duration.ofMinutes(2));
        assertThat(r.exit()).as(r.stdout() + r.stderr()).isZero();
    }

    List<String> backupSnapshots(String volumeId) {
        var out = new ArrayList<String>();
        for (JsonNode s : CliOutput.json(ceph.rbd("snap", "ls", "--format", "json", ceph.pool() + "/volume-" + volumeId).orThrow().stdout())) {
            if (s.path("name").asText().startsWith("backup-")) {
                out.add(s.path("name").asText());
            }
        }
        return out;
    }

    @Test
    void fullAndIncrementalBackupsReadOnlyWhatIsAllocatedThenWhatChangedAndRestoreByteForByte() throws Exception {
        api.put(api.volumes() + "/os-quota-sets/" + api.projectId(), Map.of("quota_set", Map.of("backups", 100, "backup_gigabytes", 1000)));
        String v = createVolume("cephvol");
        // 24 MiB of data in a 1 GiB volume, in three places
        write(v, "0x11", 0, 8 * MiB);
        write(v, "0x22", 300 * MiB, 8 * MiB);
        write(v, "0x33", 900 * MiB, 8 * MiB);
        Path atFull = cloud.dir.resolve("at-full.qcow2");
        Command.run(List.of("qemu-img", "convert", "-f", "raw", "-O", "qcow2", rbdName(v), atFull.toString()), Map.of(), Duration.ofMinutes(2))
                .orThrow();

        JsonNode full = backup(v, false);
        assertThat(full.path("halcyon:mode").asText()).isEqualTo("full");
        assertThat(full.path("halcyon:bytes_read").asLong()).as("only the allocated extents").isBetween(24 * MiB, 36 * MiB);
        assertThat(backupSnapshots(v)).containsExactly("backup-" + full.path("id").asText());

        // 1 MiB changed, in one 4 MiB chunk
        write(v, "0x44", 301 * MiB, MiB);
        JsonNode inc = backup(v, true);
        assertThat(inc.path("halcyon:mode").asText()).isEqualTo("rbd-diff");
        assertThat(inc.path("halcyon:bytes_read").asLong()).as("only the changed extent's chunk").isBetween(MiB, 4 * MiB);
        assertThat(backupSnapshots(v)).as("one backup snapshot per volume").containsExactly("backup-" + inc.path("id").asText());

        String fromFull = restore(full.path("id").asText(), "from-full");
        String fromInc = restore(inc.path("id").asText(), "from-inc");
        assertSame(atFull.toString(), "qcow2", rbdName(fromFull));
        assertSame(rbdName(v), "raw", rbdName(fromInc));

        // the backup snapshot is gone: the next incremental compares hashes, and says why
        ceph.rbd("snap", "rm", ceph.pool() + "/volume-" + v + "@backup-" + inc.path("id").asText()).orThrow();
        write(v, "0x55", 0, MiB);
        JsonNode again = backup(v, true);
        assertThat(again.path("halcyon:mode").asText()).isEqualTo("hash-compare");
        assertThat(again.path("halcyon:note").asText()).contains("no RBD snapshot");
        String fromAgain = restore(again.path("id").asText(), "from-again");
        assertSame(rbdName(v), "raw", rbdName(fromAgain));

        // without fast-diff, Ceph's diff would read every object: compare hashes instead, and say why
        ceph.rbd("feature", "disable", ceph.pool() + "/volume-" + v, "fast-diff").orThrow();
        write(v, "0x66", 600 * MiB, MiB);
        JsonNode noFastDiff = backup(v, true);
        assertThat(noFastDiff.path("halcyon:mode").asText()).isEqualTo("hash-compare");
        assertThat(noFastDiff.path("halcyon:note").asText()).contains("fast-diff");
        assertSame(rbdName(v), "raw", rbdName(restore(noFastDiff.path("id").asText(), "from-no-fast-diff")));
    }
}
