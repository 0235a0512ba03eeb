package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.storage.RbdImages;
import io.halcyon.testkit.TestCeph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.Set;
import java.util.TreeSet;

import static io.halcyon.it.CliOutput.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link VolumeCliE2EIT}'s tests with volumes and root disks on a real Ceph (the test kit's), QEMU
 * opening them through librbd; plus a server whose disks are on both backends at once.
 */
class VolumeCephCliE2EIT extends VolumeCliE2EIT {
    private TestCeph ceph;

    @Override
    TestCloud startCloud() throws Exception {
        Files.createDirectories(Paths.work());
        ceph = TestCeph.start(Files.createTempDirectory(Paths.work(), "ceph"));
        return TestCloud.startWithHost("h1", TestCloud.cephStorageYaml(ceph));
    }

    @AfterAll
    void stopCeph() {
        if (ceph != null) {
            ceph.close();
        }
    }

    @Override
    String defaultType() {
        return "ceph";
    }

    @Override
    Set<String> stored(String kind) {
        var out = new TreeSet<String>();
        String prefix = switch (kind) {
            case "volumes" -> "volume-";
            case "servers" -> "server-";
            case "snapshots" -> "@snapshot-";
            default -> throw new IllegalArgumentException(kind);
        };
        for (JsonNode n : json(ceph.rbd("ls", "-l", "--format", "json", ceph.pool()).orThrow().stdout())) {
            String name = n.has("snapshot") ? "@" + n.path("snapshot").asText() : n.path("image").asText();
            if (name.startsWith(prefix)) {
                out.add(name.substring(prefix.length()));
            }
        }
        return out;
    }

    @Test
    void fileAndCephVolumesSideBySideOnACephRootDisk() throws Exception {
        String onFile = json(admin.ok("volume", "create", "--type", "file", "--size", "1", "onfile", "-f", "json")).path("id").asText();
        String onCeph = json(admin.ok("volume", "create", "--type", "ceph", "--size", "1", "onceph", "-f", "json")).path("id").asText();
        awaitVolume(admin, "onfile", "available");
        awaitVolume(admin, "onceph", "available");
        assertThat(StorageFiles.ids(cloud.dir, "volumes")).contains(onFile).doesNotContain(onCeph);
        assertThat(stored("volumes")).contains(onCeph).doesNotContain(onFile);
        assertThat(admin.ok("volume", "type", "list", "-f", "value", "-c", "Name")).contains("ceph", "file");

        String vm = server(admin, "mixed", probe(cloud.dir, null, null));
        // the root disk is a clone of the image's base in the pool
        assertThat(stored("servers")).contains(vm);
        JsonNode root = json(ceph.rbd("info", "--format", "json", ceph.pool() + "/" + RbdImages.server(vm)).orThrow().stdout());
        assertThat(root.path("parent").path("image").asText()).startsWith("image-");
        awaitConsole(admin, "mixed", "halcyon-guest: ready");
        admin.ok("server", "add", "volume", "mixed", "onfile");
        admin.ok("server", "add", "volume", "mixed", "onceph");
        awaitConsole(admin, "mixed", "disk\\+ " + serial(onFile) + " vd[b-z] ");
        awaitConsole(admin, "mixed", "disk\\+ " + serial(onCeph) + " vd[b-z] ");
        admin.ok("server", "delete", "--wait", "mixed");
        awaitVolume(admin, "onfile", "available");
        awaitVolume(admin, "onceph", "available");
        admin.ok("volume", "delete", "onfile", "onceph");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
                .untilAsserted(() -> assertThat(stored("volumes")).doesNotContain(onCeph));
    }
}
