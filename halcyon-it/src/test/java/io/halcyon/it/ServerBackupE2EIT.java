package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.OpenStackCli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static io.halcyon.it.CliOutput.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Server backups at {@code /halcyon/v1/server-backups}: every volume of a server at one instant.
 * A guest counts on its two disks in lockstep (the count on its root disk, then on its data
 * disk, each durable before the next), so at any instant the two differ by at most one; a
 * server backup, running or stopped, full or incremental, restores to two volumes that show it,
 * where two backups one after the other would not. And ten servers booted from one image, each
 * backed up: the repository holds the image's chunks once.
 */
class ServerBackupE2EIT {
    static final long MiB = 1 << 20;
    static final long COUNTER_AT = 200 * MiB;
    private static TestCloud cloud;
    private static OpenStackCli cli;
    private static ApiClient api;

    /** A count written to vda then vdb at 200 MiB, each write durable before the next, as fast as the guest can. */
    static final String COUNTER = """
            #!/bin/sh
            i=1
            while true; do
              for d in /dev/vda /dev/vdb; do
                printf 'halcyon-count %%08d\\n' $i | dd of=$d bs=4096 seek=%d conv=sync,fsync 2>/dev/null
              done
              echo "count $i"
              i=$((i + 1))
            done
            """.formatted(COUNTER_AT / 4096);

    @BeforeAll
    static void up() throws Exception {
        cloud = TestCloud.startWithHost("h1");
        cli = cloud.adminCli();
        api = cloud.admin();
        // more backups than Cinder's default quota of 10 live at once here
        cli.ok("quota", "set", "--backups", "100", "--backup-gigabytes", "1000", "admin");
    }

    @AfterAll
    static void down() {
        if (cloud != null) {
            cloud.close();
        }
    }

    static Command.Result halcyon(String... args) {
        var argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                Paths.jar().toString()));
        argv.addAll(List.of(args));
        return Command.run(argv, cli.env(), Duration.ofMinutes(1));
    }

    static JsonNode volume(String id) throws Exception {
        return api.get(api.volumes() + "/volumes/" + id).body().path("volume");
    }

    static void awaitVolume(String id, String status) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> volume(id).path("status").asText().equals(status));
    }

    static String createVolume(String name, int sizeGb, String imageRef) throws Exception {
        var v = new java.util.LinkedHashMap<String, Object>(Map.of("name", name, "size", sizeGb));
        if (imageRef != null) {
            v.put("imageRef", imageRef);
        }
        var r = api.post(api.volumes() + "/volumes", Map.of("volume", v));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("volume").path("id").asText();
        awaitVolume(id, "available");
        return id;
    }

    static int lastCount(String serverId) throws Exception {
        var out = api.post("/compute/v2.1/servers/" + serverId + "/action", Map.of("os-getConsoleOutput", Map.of("length", 20)));
        var m = Pattern.compile("count (\\d+)").matcher(out.body().path("output").asText());
        int last = 0;
        while (m.find()) {
            last = Integer.parseInt(m.group(1));
        }
        return last;
    }

    static String status(String serverId) throws Exception {
        return api.server(serverId).path("status").asText();
    }

    static JsonNode awaitServerBackup(String id) throws Exception {
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200)).until(() -> {
            String s = api.get("/halcyon/v1/server-backups/" + id).body().path("server_backup").path("status").asText();
            assertThat(s).as("server backup %s: %s", id, api.get("/halcyon/v1/server-backups/" + id).raw()).isNotEqualTo("error");
            return s.equals("available");
        });
        return serverBackup(id);
    }

    static JsonNode serverBackup(String id) throws Exception {
        var r = api.get("/halcyon/v1/server-backups/" + id);
        assertThat(r.status()).as(r.raw()).isEqualTo(200);
        return r.body().path("server_backup");
    }

    static ApiClient.Response backUp(String serverId, boolean incremental, boolean force) throws Exception {
        return api.post("/halcyon/v1/server-backups", Map.of("server_backup", Map.of("server_id", serverId, "incremental", incremental,
                "force", force)));
    }

    static String created(ApiClient.Response r) {
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        return r.body().path("server_backup").path("id").asText();
    }

    /** The count a restored volume holds. */
    static int countIn(String volumeId) throws Exception {
        Path raw = cloud.dir.resolve(volumeId + ".raw");
        Path file = StorageFiles.root(cloud.dir).resolve("volumes").resolve(volumeId + ".qcow2");
        Command.run(List.of("qemu-img", "convert", "-f", "qcow2", "-O", "raw", file.toString(), raw.toString()), Map.of(),
                Duration.ofMinutes(2)).orThrow();
        try (var f = new RandomAccessFile(raw.toFile(), "r")) {
            byte[] b = new byte[22];
            f.seek(COUNTER_AT);
            f.readFully(b);
            String s = new String(b, StandardCharsets.US_ASCII);
            assertThat(s).as("count on volume %s", volumeId).startsWith("halcyon-count ");
            return Integer.parseInt(s.substring(14, 22));
        } finally {
            Files.deleteIfExists(raw);
        }
    }

    /** Restores a server backup into new volumes; the counts on root and data disk, in that order. */
    static int[] restoreAndCount(String serverBackupId) throws Exception {
        var r = api.post("/halcyon/v1/server-backups/" + serverBackupId + "/restore", Map.of("restore", Map.of("name", "r" + serverBackupId
                .substring(0, 6))));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        var counts = new int[2];
        for (JsonNode v : r.body().path("restore").path("volumes")) {
            String vol = v.path("volume_id").asText();
            awaitVolume(vol, "available");
            counts[v.path("device").asText().endsWith("vda") ? 0 : 1] = countIn(vol);
            assertThat(api.delete(api.volumes() + "/volumes/" + vol).status()).isEqualTo(202);
        }
        return counts;
    }

    @Test
    void everyVolumeOfAServerIsBackedUpAtOneInstantRunningOrStopped() throws Exception {
        String root = createVolume("sb-root", 1, api.imageId("tiny"));
        String data = createVolume("sb-data", 1, null);
        var server = Map.of("name", "counter", "flavorRef", "1",
                "user_data", Base64.getEncoder().encodeToString(COUNTER.getBytes(StandardCharsets.UTF_8)),
                "block_device_mapping_v2", List.of(
                        Map.of("uuid", root, "source_type", "volume", "destination_type", "volume", "boot_index", 0),
                        Map.of("uuid", data, "source_type", "volume", "destination_type", "volume", "boot_index", -1)));
        var r = api.post("/compute/v2.1/servers", Map.of("server", server));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("server").path("id").asText();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> lastCount(id) >= 20);

        // a running server needs the force flag, as an in-use volume does in Cinder
        var refused = backUp(id, false, false);
        assertThat(refused.status()).as(refused.raw()).isEqualTo(400);
        assertThat(refused.body().path("error").path("message").asText()).contains("force flag");

        String full = created(backUp(id, false, true));
        JsonNode f = awaitServerBackup(full);
        assertThat(f.path("backups")).hasSize(2);
        for (JsonNode b : f.path("backups")) {
            assertThat(b.path("halcyon:mode").asText()).isEqualTo("full");
            assertThat(b.path("halcyon:server_backup_id").asText()).isEqualTo(full);
        }
        int before = lastCount(id);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> lastCount(id) >= before + 20);

        String inc = created(backUp(id, true, true));
        JsonNode i = awaitServerBackup(inc);
        assertThat(i.path("is_incremental").asBoolean()).isTrue();
        for (JsonNode b : i.path("backups")) {
            assertThat(b.path("halcyon:mode").asText()).isEqualTo("bitmap");
            assertThat(b.path("halcyon:bytes_read").asLong()).isLessThan(32 * MiB);
        }
        // Halcyon's CLI shows the same
        var listed = halcyon("server-backup", "list", "--server", id);
        assertThat(listed.exit()).as(listed.stderr()).isZero();
        assertThat(listed.stdout()).contains(full).contains(inc);
        var shown = halcyon("server-backup", "show", inc);
        assertThat(shown.stdout()).containsPattern("vdb\\s+\\S+\\s+" + data + "\\s+available\\s+bitmap");
        var unknown = halcyon("server-backup", "show", "00000000-0000-0000-0000-000000000000");
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.stderr().strip()).isEqualTo("halcyon: Server backup 00000000-0000-0000-0000-000000000000 could not be found. "
                + "(HTTP 404)");
        // each volume's backup is a Cinder backup of its own too
        String member = i.path("backups").get(0).path("id").asText();
        assertThat(json(cli.ok("volume", "backup", "show", member, "-f", "json")).path("is_incremental").asBoolean()).isTrue();

        // stopped: read by the leader, every volume held before any is read
        assertThat(api.post("/compute/v2.1/servers/" + id + "/action", Map.of("os-stop", Map.of())).status()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> status(id).equals("SHUTOFF"));
        String stopped = created(backUp(id, true, false));
        JsonNode s = awaitServerBackup(stopped);
        for (JsonNode b : s.path("backups")) {
            assertThat(b.path("halcyon:mode").asText()).isEqualTo("bitmap");
        }

        for (String sb : List.of(full, inc, stopped)) {
            int[] c = restoreAndCount(sb);
            System.out.printf("server backup %s: count %d on the root disk, %d on the data disk%n", sb, c[0], c[1]);
            assertThat(c[1]).as("server backup %s: the data disk's count against the root disk's", sb).isGreaterThan(10)
                    .isBetween(c[0] - 1, c[0]);
        }

        // a server backup whose volumes' backups have incrementals is not deleted; newest first is
        var dependents = api.delete("/halcyon/v1/server-backups/" + full);
        assertThat(dependents.status()).as(dependents.raw()).isEqualTo(400);
        assertThat(dependents.body().path("error").path("message").asText()).contains("Incremental backups exist");
        for (String sb : List.of(stopped, inc, full)) {
            assertThat(api.delete("/halcyon/v1/server-backups/" + sb).status()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(60)).until(() -> api.get("/halcyon/v1/server-backups/" + sb).status() == 404);
        }
        assertThat(api.delete("/compute/v2.1/servers/" + id).status()).isEqualTo(204);
        awaitVolume(data, "available");
        awaitVolume(root, "available");
        assertThat(api.delete(api.volumes() + "/volumes/" + root).status()).isEqualTo(202);
        assertThat(api.delete(api.volumes() + "/volumes/" + data).status()).isEqualTo(202);
    }

    @Test
    void tenServersBootedFromOneImageLeaveItsChunksInTheRepositoryOnce() throws Exception {
        cli.ok("quota", "set", "--volumes", "40", "--gigabytes", "100", "admin");
        var ids = new ArrayList<String>();
        for (int n = 0; n < 10; n++) {
            var r = api.post("/compute/v2.1/servers", Map.of("server", Map.of("name", "fleet-" + n, "flavorRef", "1",
                    "block_device_mapping_v2", List.of(Map.of("uuid", api.imageId("tiny"), "source_type", "image",
                            "destination_type", "volume", "volume_size", 1, "boot_index", 0, "delete_on_termination", true)))));
            assertThat(r.status()).as(r.raw()).isEqualTo(202);
            ids.add(r.body().path("server").path("id").asText());
        }
        for (String sid : ids) {
            await().atMost(Duration.ofSeconds(300)).pollInterval(Duration.ofMillis(500)).until(() -> status(sid).equals("ACTIVE"));
        }
        long storedFirst = -1;
        long storedRest = 0;
        for (String sid : ids) {
            JsonNode sb = awaitServerBackup(created(backUp(sid, false, true)));
            long stored = 0;
            for (JsonNode b : sb.path("backups")) {
                assertThat(b.path("halcyon:bytes_read").asLong()).isPositive();
                stored += b.path("halcyon:bytes_stored").asLong();
            }
            if (storedFirst < 0) {
                storedFirst = stored;
            } else {
                storedRest += stored;
            }
        }
        System.out.printf("ten servers from one image: the first server backup stored %d bytes, the nine others %d%n", storedFirst,
                storedRest);
        // whatever the first stored (nothing, when the image's chunks were in the repository already), the others found
        assertThat(storedRest).isZero();
        for (String sid : ids) {
            assertThat(api.delete("/compute/v2.1/servers/" + sid).status()).isEqualTo(204);
        }
    }
}
