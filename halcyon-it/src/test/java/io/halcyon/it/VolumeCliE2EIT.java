package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.DiskProbe;
import io.halcyon.testkit.OpenStackCli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

import static io.halcyon.it.CliOutput.fails;
import static io.halcyon.it.CliOutput.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Block storage end to end with Debian's real {@code openstack} CLI and real QEMU guests: volumes
 * hot-plugged into running guests that write and read a pattern, snapshots, clones, extend, the
 * Cinder delete rules, volume to image, and boot from volume. The guests run {@code disk-probe.sh}
 * as user data, which reports on the console every disk as the guest sees it come and go; that is
 * how the test knows what QEMU really gave the guest. {@link VolumeCephCliE2EIT} runs the same
 * tests with everything on Ceph.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VolumeCliE2EIT {
    TestCloud cloud;
    OpenStackCli admin;
    private ApiClient api;

    @BeforeAll
    void up() throws Exception {
        cloud = startCloud();
        admin = cloud.adminCli();
        api = cloud.admin();
    }

    @AfterAll
    void down() {
        if (cloud != null) {
            cloud.close();
        }
    }

    /** The cloud under test: one host, volumes and root disks on the {@code file} backend. */
    TestCloud startCloud() throws Exception {
        return TestCloud.startWithHost("h1");
    }

    /** The volume type new volumes get by default. */
    String defaultType() {
        return "default";
    }

    /** Ids of what the backend holds: {@code volumes}, {@code snapshots} or {@code servers} (root disks). */
    Set<String> stored(String kind) throws Exception {
        return StorageFiles.ids(cloud.dir, kind);
    }

    static String serial(String volumeId) {
        return volumeId.substring(0, 20);
    }

    /** The disk probe as a user-data file, writing {@code pattern} to the disk with {@code writeSerial} (if any). */
    static Path probe(Path dir, String writeSerial, String pattern) throws IOException {
        Path f = Files.createTempFile(dir, "probe", ".sh");
        Files.writeString(f, DiskProbe.script(writeSerial, pattern, 100_000));
        return f;
    }

    static String volumeStatus(OpenStackCli cli, String volume) {
        return cli.ok("volume", "show", volume, "-f", "value", "-c", "status").trim();
    }

    /**
     * Waits for a volume's status. The admin's waits poll the API directly: the actions under test
     * go through the CLI, but a CLI process per poll would spend most of the test starting Python.
     */
    void awaitVolume(OpenStackCli cli, String volume, String status) {
        if (cli != admin) {
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> volumeStatus(cli, volume).equals(status));
            return;
        }
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
            for (JsonNode v : api.get(api.volumes() + "/volumes/detail?all_tenants=1").body().path("volumes")) {
                if (v.path("id").asText().equals(volume) || v.path("name").asText().equals(volume)) {
                    return v.path("status").asText().equals(status);
                }
            }
            return false;
        });
    }

    /** Waits for the server's console to match, read through the API (see {@link #awaitVolume}). */
    void awaitConsole(OpenStackCli cli, String server, String regex) {
        Pattern p = Pattern.compile(regex, Pattern.MULTILINE);
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> {
            String id = null;
            for (JsonNode s : api.get("/compute/v2.1/servers/detail?all_tenants=1").body().path("servers")) {
                if (s.path("id").asText().equals(server) || s.path("name").asText().equals(server)) {
                    id = s.path("id").asText();
                }
            }
            return id != null && p.matcher(api.post("/compute/v2.1/servers/" + id + "/action", java.util.Map.of("os-getConsoleOutput",
                    java.util.Map.of())).body().path("output").asText()).find();
        });
    }

    static String server(OpenStackCli cli, String name, Path userData) {
        JsonNode s = json(cli.ok("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--user-data", userData.toString(), "--wait",
                name, "-f", "json"));
        assertThat(s.path("status").asText()).isEqualTo("ACTIVE");
        return s.path("id").asText();
    }


    @Test
    void hotPlugSnapshotsClonesAndTheDeleteRules() throws Exception {
        JsonNode created = json(admin.ok("volume", "create", "--size", "1", "--description", "first", "data1", "-f", "json"));
        String data1 = created.path("id").asText();
        assertThat(created.path("size").asInt()).isEqualTo(1);
        awaitVolume(admin, "data1", "available");
        assertThat(admin.ok("volume", "list", "-f", "value", "-c", "Name", "-c", "Status")).contains("data1 available");
        JsonNode shown = json(admin.ok("volume", "show", "data1", "-f", "json"));
        assertThat(shown.path("description").asText()).isEqualTo("first");
        assertThat(shown.path("type").asText()).isEqualTo(defaultType());
        assertThat(shown.path("bootable").asText()).isEqualTo("false");

        // the guest of vmA sees the disk appear and writes the pattern; vmB later reads it
        String pattern = "halcyon-" + UUID.randomUUID().toString().substring(0, 8);
        String vmA = server(admin, "vmA", probe(cloud.dir, serial(data1), pattern));
        String vmB = server(admin, "vmB", probe(cloud.dir, null, null));
        awaitConsole(admin, "vmA", "halcyon-guest: ready");
        admin.ok("server", "add", "volume", "vmA", "data1");
        awaitVolume(admin, "data1", "in-use");
        awaitConsole(admin, "vmA", "disk\\+ " + serial(data1) + " vd[b-z] data=" + pattern + " sectors=2097152");
        JsonNode attached = json(admin.ok("volume", "show", "data1", "-f", "json"));
        assertThat(attached.path("attachments").toString()).contains(vmA);
        assertThat(admin.ok("server", "show", "vmA", "-f", "json")).contains(data1);
        assertThat(admin.ok("server", "volume", "list", "vmA", "-f", "value")).contains(data1);

        // another project sees neither the server nor the volume, and bad sizes change nothing
        admin.ok("project", "create", "other");
        admin.ok("user", "create", "--project", "other", "--password", "bob-pass", "bob");
        admin.ok("role", "add", "--user", "bob", "--project", "other", "member");
        OpenStackCli bob = admin.as("bob", "bob-pass", "other");
        String bobVolume = json(bob.ok("volume", "create", "--size", "1", "bobvol", "-f", "json")).path("id").asText();
        awaitVolume(bob, "bobvol", "available");
        fails(bob.run("server", "add", "volume", vmA, bobVolume), "No Server found for " + vmA);
        fails(bob.run("volume", "show", data1), "No volume with a name or ID");
        fails(bob.run("volume", "delete", data1), "No volume with a name or ID");
        fails(admin.run("server", "add", "volume", vmB, bobVolume), "belongs to another project", "400");
        fails(bob.run("volume", "create", "--size", "0", "zero"), "400");
        fails(bob.run("volume", "create", "--size", "-1", "negative"), "400");
        fails(bob.run("volume", "create", "--size", "5000", "huge"), "413");
        fails(bob.run("volume", "create", "--snapshot", "no-such-snapshot", "--size", "1", "x"), "No snapshot with a name or ID");
        assertThat(bob.ok("volume", "list", "-f", "value", "-c", "Name").trim()).isEqualTo("bobvol");
        assertThat(volumeStatus(bob, "bobvol")).isEqualTo("available");
        bob.ok("volume", "delete", "bobvol");

        // a volume attaches once; the second server is refused and nothing changes
        fails(admin.run("server", "add", "volume", "vmB", "data1"), "400");
        assertThat(volumeStatus(admin, "data1")).isEqualTo("in-use");
        // an in-use volume cannot be deleted
        fails(admin.run("volume", "delete", "data1"), "Invalid volume", "400");
        // detaching what is not attached
        fails(admin.run("server", "remove", "volume", "vmB", "data1"), "404");

        admin.ok("server", "remove", "volume", "vmA", "data1");
        awaitVolume(admin, "data1", "available");
        awaitConsole(admin, "vmA", "disk- " + serial(data1));
        assertThat(admin.ok("server", "volume", "list", "vmA", "-f", "value")).doesNotContain(data1);

        admin.ok("server", "add", "volume", "vmB", "data1");
        awaitVolume(admin, "data1", "in-use");
        awaitConsole(admin, "vmB", "disk\\+ " + serial(data1) + " vd[b-z] data=" + pattern + " ");
        admin.ok("server", "remove", "volume", "vmB", "data1");
        awaitVolume(admin, "data1", "available");

        // snapshot, then a volume from it carries the pattern
        admin.ok("volume", "snapshot", "create", "--volume", "data1", "snap1");
        await().atMost(Duration.ofSeconds(60)).until(() -> admin.ok("volume", "snapshot", "show", "snap1", "-f", "value", "-c", "status")
                .trim().equals("available"));
        assertThat(admin.ok("volume", "snapshot", "list", "-f", "value", "-c", "Name")).contains("snap1");
        String fromSnap = json(admin.ok("volume", "create", "--snapshot", "snap1", "--size", "1", "fromsnap", "-f", "json")).path("id").asText();
        String clone = json(admin.ok("volume", "create", "--source", "data1", "--size", "1", "clone1", "-f", "json")).path("id").asText();
        awaitVolume(admin, "fromsnap", "available");
        awaitVolume(admin, "clone1", "available");

        // a volume with snapshots needs a cascade delete
        fails(admin.run("volume", "delete", "data1"), "snapshot", "400");
        assertThat(volumeStatus(admin, "data1")).isEqualTo("available");

        // extend a detached volume; the guest then sees the new size
        admin.ok("volume", "set", "--size", "2", "fromsnap");
        await().atMost(Duration.ofSeconds(60)).until(() -> json(admin.ok("volume", "show", "fromsnap", "-f", "json")).path("size").asInt() == 2
                && volumeStatus(admin, "fromsnap").equals("available"));
        fails(admin.run("volume", "set", "--size", "1", "fromsnap"), "must be greater than 2 GB");
        admin.ok("server", "add", "volume", "vmB", "fromsnap");
        admin.ok("server", "add", "volume", "vmB", "clone1");
        awaitConsole(admin, "vmB", "disk\\+ " + serial(fromSnap) + " vd[b-z] data=" + pattern + " sectors=4194304");
        awaitConsole(admin, "vmB", "disk\\+ " + serial(clone) + " vd[b-z] data=" + pattern + " ");
        awaitVolume(admin, "fromsnap", "in-use");
        awaitVolume(admin, "clone1", "in-use");
        fails(admin.run("volume", "set", "--size", "3", "fromsnap"), "must be available");
        assertThat(json(admin.ok("volume", "show", "fromsnap", "-f", "json")).path("size").asInt()).isEqualTo(2);

        // deleting the server lets its volumes go, as they were attached without delete_on_termination
        admin.ok("server", "delete", "--wait", "vmB");
        awaitVolume(admin, "fromsnap", "available");
        awaitVolume(admin, "clone1", "available");

        admin.ok("volume", "delete", "--purge", "data1");
        await().atMost(Duration.ofSeconds(60)).until(() -> !admin.ok("volume", "list", "-f", "value", "-c", "Name").contains("data1"));
        assertThat(admin.ok("volume", "snapshot", "list", "-f", "value")).doesNotContain("snap1");
        admin.ok("volume", "delete", "fromsnap", "clone1");
        admin.ok("server", "delete", "--wait", "vmA");
        await().atMost(Duration.ofSeconds(60)).until(() -> admin.ok("volume", "list", "-f", "value").isBlank());
        for (String id : new String[]{data1, fromSnap, clone}) {
            assertThat(stored("volumes")).doesNotContain(id);
        }
        assertThat(stored("snapshots")).isEmpty();
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(stored("servers")).doesNotContain(vmA, vmB));
    }

    @Test
    void imageFromAVolumeOfTinyHasTinysChecksum() {
        String tinyChecksum = admin.ok("image", "show", "tiny", "-f", "value", "-c", "checksum").trim();
        admin.ok("volume", "create", "--image", "tiny", "--size", "1", "fromtiny");
        awaitVolume(admin, "fromtiny", "available");
        assertThat(admin.ok("volume", "show", "fromtiny", "-f", "value", "-c", "bootable").trim()).isEqualTo("true");
        admin.ok("image", "create", "--volume", "fromtiny", "--disk-format", "qcow2", "--container-format", "bare", "tiny-again");
        await().atMost(Duration.ofSeconds(60)).until(() -> admin.ok("image", "show", "tiny-again", "-f", "value", "-c", "status").trim()
                .equals("active"));
        assertThat(admin.ok("image", "show", "tiny-again", "-f", "value", "-c", "checksum").trim()).isEqualTo(tinyChecksum);
        awaitVolume(admin, "fromtiny", "available");
        admin.ok("image", "delete", "tiny-again");
        admin.ok("volume", "delete", "fromtiny");
    }

    @Test
    void bootFromVolumeKeepsTheVolumeAndItsData() throws Exception {
        JsonNode s = json(admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--boot-from-volume", "1",
                "--user-data", probe(cloud.dir, null, null).toString(), "--wait", "bfv", "-f", "json"));
        assertThat(s.path("status").asText()).isEqualTo("ACTIVE");
        String root = json(admin.ok("server", "show", "bfv", "-f", "json")).path("volumes_attached").toString()
                .replaceAll("(?s).*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}).*", "$1");
        assertThat(root).hasSize(36);
        awaitVolume(admin, root, "in-use");
        // the guest booted from the volume: its root disk carries the volume's serial
        awaitConsole(admin, "bfv", "disk\\+ " + serial(root) + " vda ");
        fails(admin.run("server", "remove", "volume", "bfv", root), "400");
        admin.ok("server", "delete", "--wait", "bfv");
        awaitVolume(admin, root, "available");
        // its data is the guest's disk: another server boots from it
        JsonNode again = json(admin.ok("server", "create", "--flavor", "m1.tiny", "--volume", root, "--wait", "bfv2", "-f", "json"));
        assertThat(again.path("status").asText()).isEqualTo("ACTIVE");
        awaitConsole(admin, "bfv2", "halcyon-guest: ready");
        admin.ok("server", "delete", "--wait", "bfv2");
        awaitVolume(admin, root, "available");
        admin.ok("volume", "delete", root);
    }
}
