package io.halcyon.it;

import io.halcyon.storage.ImageData;
import io.halcyon.storage.QemuImg;
import io.halcyon.storage.Rbd;
import io.halcyon.storage.RbdBackend;
import io.halcyon.storage.RbdImages;
import io.halcyon.storage.StorageException;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.TestCeph;
import io.halcyon.testkit.TinyImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@code rbd} backend against a real Ceph from the test kit: clones from an image's base cost
 * no copy, snapshots and clones carry data, sizes grow, deletes are idempotent, and what is left
 * half-made is swept.
 */
class RbdBackendIT {
    private static final long MIB = 1L << 20;
    private static TestCeph ceph;
    private static RbdBackend backend;
    private static Path work;

    @BeforeAll
    static void up() throws Exception {
        Files.createDirectories(Paths.work());
        work = Files.createTempDirectory(Paths.work(), "rbd");
        ceph = TestCeph.start(work.resolve("ceph"));
        backend = new RbdBackend("ceph", new Rbd(ceph.pool(), ceph.conf(), "admin", 120), new QemuImg("qemu-img"), 20.0, 0.0, 100L << 30);
    }

    @AfterAll
    static void down() {
        if (ceph != null) {
            ceph.close();
        }
    }

    private static String id() {
        return UUID.randomUUID().toString();
    }

    private static void write(String image, long offset, String pattern) {
        Command.run(List.of("qemu-io", "-f", "raw", "-c", "write -P " + pattern + " " + offset + " 1M",
                backend.rbd().qemuFilename(image, null)), Map.of(), Duration.ofSeconds(60)).orThrow();
    }

    private static boolean holds(String image, long offset, String pattern) {
        String out = Command.run(List.of("qemu-io", "-f", "raw", "-c", "read -P " + pattern + " " + offset + " 1M",
                backend.rbd().qemuFilename(image, null)), Map.of(), Duration.ofSeconds(60)).stdout();
        return out.contains("read 1048576/1048576") && !out.contains("verification failed");
    }

    @Test
    void volumesFromAnImageAreClonesOfOneBase() throws Exception {
        Path tiny = TinyImage.ensure(Paths.root(), Paths.work());
        var image = new ImageData(id(), "qcow2", null, new QemuImg("qemu-img").info(tiny, "qcow2").virtualSize(), tiny);
        String a = id();
        String b = id();
        backend.createFromImage(a, image, 1L << 30);
        backend.createFromImage(b, image, 1L << 30);
        backend.createFromImage(b, image, 1L << 30); // again: nothing changes
        var info = backend.rbd().info(RbdImages.volume(a)).orElseThrow();
        assertThat(info.path("parent").path("image").asText()).isEqualTo(RbdImages.base(image.imageId()));
        assertThat(info.path("size").asLong()).isEqualTo(1L << 30);
        assertThat(backend.allocatedBytes(a)).isZero();
        assertThat(backend.volumeIds()).contains(a, b);

        // an untouched clone exports as the image's own bytes
        Path out = work.resolve("export.qcow2");
        backend.exportToImage(a, "qcow2", Optional.of(image), out);
        assertThat(Files.mismatch(out, tiny)).isEqualTo(-1L);
        write(RbdImages.volume(a), 0, "0x5a");
        assertThat(backend.allocatedBytes(a)).isPositive();
        assertThat(holds(RbdImages.volume(b), 0, "0x5a")).isFalse();

        // a root disk as the agent makes it: a clone of the same base
        var images = new RbdImages(backend.rbd(), new QemuImg("qemu-img"));
        String server = id();
        images.cloneBase(image.imageId(), RbdImages.server(server), 2L << 30);
        assertThat(backend.rootDiskIds()).contains(server);
        assertThat(backend.rbd().info(RbdImages.server(server)).orElseThrow().path("size").asLong()).isEqualTo(2L << 30);
        // a flavor smaller than the image: the disk keeps the image's size
        String small = id();
        images.cloneBase(image.imageId(), RbdImages.server(small), 1 << 20);
        assertThat(backend.rbd().info(RbdImages.server(small)).orElseThrow().path("size").asLong()).isEqualTo(image.virtualSize());
        backend.deleteRootDisk(small);
        images.cloneBase(image.imageId(), RbdImages.server(small), image.virtualSize());
        assertThat(backend.rbd().info(RbdImages.server(small)).orElseThrow().path("size").asLong()).isEqualTo(image.virtualSize());
        backend.deleteRootDisk(small);
        backend.deleteRootDisk(server);
        backend.deleteRootDisk(server);
        assertThat(backend.rootDiskIds()).doesNotContain(server);
        backend.deleteVolume(a);
        backend.deleteVolume(b);
        assertThat(backend.volumeIds()).doesNotContain(a, b);
    }

    @Test
    void snapshotsClonesAndExtendCarryTheData() throws Exception {
        String v = id();
        backend.createBlank(v, 64 * MIB);
        write(RbdImages.volume(v), 8 * MIB, "0x11");
        String snap = id();
        backend.createSnapshot(snap, v);
        assertThat(backend.snapshotExists(snap)).isTrue();
        assertThat(backend.snapshotIds()).contains(snap);
        write(RbdImages.volume(v), 8 * MIB, "0x22");

        String fromSnap = id();
        backend.createFromSnapshot(fromSnap, snap, 128 * MIB);
        assertThat(holds(RbdImages.volume(fromSnap), 8 * MIB, "0x11")).isTrue();
        // flattened: it does not depend on the snapshot
        assertThat(backend.rbd().info(RbdImages.volume(fromSnap)).orElseThrow().has("parent")).isFalse();
        assertThat(backend.rbd().info(RbdImages.volume(fromSnap)).orElseThrow().path("size").asLong()).isEqualTo(128 * MIB);

        String clone = id();
        backend.createFromVolume(clone, v, 64 * MIB);
        assertThat(holds(RbdImages.volume(clone), 8 * MIB, "0x22")).isTrue();
        assertThat(backend.rbd().snapshots(RbdImages.volume(v))).containsExactly(RbdImages.snapshot(snap));

        backend.extend(v, 96 * MIB);
        backend.extend(v, 32 * MIB); // never shrinks
        assertThat(backend.rbd().info(RbdImages.volume(v)).orElseThrow().path("size").asLong()).isEqualTo(96 * MIB);

        backend.deleteSnapshot(snap);
        backend.deleteSnapshot(snap);
        assertThat(backend.snapshotExists(snap)).isFalse();
        assertThat(holds(RbdImages.volume(fromSnap), 8 * MIB, "0x11")).isTrue();
        for (String x : List.of(v, fromSnap, clone)) {
            backend.deleteVolume(x);
        }
        assertThatThrownBy(() -> backend.createFromSnapshot(id(), snap, 64 * MIB)).isInstanceOf(StorageException.class)
                .hasMessageContaining("has no data");
        assertThatThrownBy(() -> backend.extend(v, 128 * MIB)).isInstanceOf(StorageException.class).hasMessageContaining("has no data");
    }

    @Test
    void halfMadeImagesAreSweptAndCapacityFallsBackWithoutAManager() throws Exception {
        String old = "tmp-volume-" + Instant.now().minusSeconds(3600).toEpochMilli() + "-abcdef12";
        String fresh = RbdImages.temp("volume");
        backend.rbd().create(old, MIB);
        backend.rbd().create(fresh, MIB);
        backend.cleanTemporary(Instant.now().minusSeconds(60));
        assertThat(backend.rbd().images()).doesNotContain(old).contains(fresh);
        backend.rbd().remove(fresh);
        // the test Ceph has no manager, so it reports no usage: admission counts on capacityGb
        assertThat(backend.capacity().totalBytes()).isEqualTo(100L << 30);
        var strict = new RbdBackend("ceph", backend.rbd(), new QemuImg("qemu-img"), 20.0, 0.0, 0);
        assertThatThrownBy(strict::capacity).hasMessageContaining("capacityGb");
    }
}
