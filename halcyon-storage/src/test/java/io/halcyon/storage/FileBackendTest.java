package io.halcyon.storage;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;


import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The file backend with the real qemu-img and qemu-io (Debian's qemu-utils). */
class FileBackendTest {
    @TempDir
    Path dir;
    FileBackend backend;
    QemuImg qemuImg = new QemuImg("qemu-img");
    ImageData image;

    static final long GIB = 1L << 30;

    @BeforeEach
    void setUp() throws Exception {
        backend = new FileBackend("file", dir.resolve("storage"), 20.0, 0.0, qemuImg);
        Path img = dir.resolve("image.qcow2");
        qemuImg.create(img, 64L << 20, null, null);
        io(img, "write -P 0x5a 0 1M");
        image = new ImageData("img-1", "qcow2", null, 64L << 20, img);
    }

    static void io(Path file, String command) throws Exception {
        Process p = new ProcessBuilder("qemu-io", "-f", "qcow2", "-c", command, file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).doesNotContain("Pattern verification failed");
    }

    static String sha256(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
    }

    @Test
    void aVolumeFromAnImageIsASmallOverlayOfOneSharedBase() throws Exception {
        backend.createFromImage("v1", image, GIB);
        backend.createFromImage("v2", image, GIB);
        assertThat(Files.list(dir.resolve("storage/images")).toList()).hasSize(1);
        Path v1 = dir.resolve("storage/volumes/v1.qcow2");
        assertThat(qemuImg.info(v1, "qcow2").virtualSize()).isEqualTo(GIB);
        assertThat(qemuImg.info(v1, "qcow2").backingFile()).isEqualTo("../images/img-1.qcow2");
        assertThat(Files.size(v1)).isLessThan(1 << 20);
        io(v1, "read -P 0x5a 0 1M");
        // creating again changes nothing
        long before = Files.getLastModifiedTime(v1).toMillis();
        backend.createFromImage("v1", image, GIB);
        assertThat(Files.getLastModifiedTime(v1).toMillis()).isEqualTo(before);
    }

    @Test
    void snapshotsAndClonesAreStandaloneCopiesWithTheData() throws Exception {
        backend.createBlank("v1", GIB);
        Path v1 = dir.resolve("storage/volumes/v1.qcow2");
        io(v1, "write -P 0xab 4M 64k");
        backend.createSnapshot("s1", "v1");
        io(v1, "write -P 0xcd 4M 64k");
        backend.createFromSnapshot("v2", "s1", 2 * GIB);
        Path v2 = dir.resolve("storage/volumes/v2.qcow2");
        io(v2, "read -P 0xab 4M 64k");
        assertThat(qemuImg.info(v2, "qcow2").virtualSize()).isEqualTo(2 * GIB);
        assertThat(qemuImg.info(v2, "qcow2").backingFile()).isNull();
        backend.createFromVolume("v3", "v1", GIB);
        io(dir.resolve("storage/volumes/v3.qcow2"), "read -P 0xcd 4M 64k");
        backend.deleteVolume("v1");
        backend.deleteSnapshot("s1");
        io(v2, "read -P 0xab 4M 64k");
        assertThat(backend.volumeIds()).containsExactlyInAnyOrder("v2", "v3");
        assertThat(backend.snapshotIds()).isEmpty();
    }

    @Test
    void extendGrowsAndIsIdempotent() throws Exception {
        backend.createBlank("v1", GIB);
        backend.extend("v1", 3 * GIB);
        backend.extend("v1", 2 * GIB);
        assertThat(qemuImg.info(dir.resolve("storage/volumes/v1.qcow2"), "qcow2").virtualSize()).isEqualTo(3 * GIB);
        assertThatThrownBy(() -> backend.extend("missing", GIB)).isInstanceOf(StorageException.class).hasMessageContaining("no data");
    }

    @Test
    void anUntouchedVolumeExportsItsImageBytesElseAConvertedCopy() throws Exception {
        backend.createFromImage("v1", image, GIB);
        Path out = dir.resolve("out.qcow2");
        backend.exportToImage("v1", "qcow2", Optional.of(image), out);
        assertThat(sha256(out)).isEqualTo(sha256(image.source()));
        io(dir.resolve("storage/volumes/v1.qcow2"), "write -P 0x11 8M 4k");
        Path out2 = dir.resolve("out2.qcow2");
        backend.exportToImage("v1", "qcow2", Optional.of(image), out2);
        assertThat(sha256(out2)).isNotEqualTo(sha256(image.source()));
        io(out2, "read -P 0x11 8M 4k");
        io(out2, "read -P 0x5a 0 1M");
        assertThat(qemuImg.info(out2, "qcow2").backingFile()).isNull();
    }

    @Test
    void rootDisksAndCapacity() throws Exception {
        var spec = backend.rootDisk("srv-1", image, GIB);
        assertThat(spec.path()).endsWith("/servers/srv-1.qcow2");
        assertThat(spec.base().path()).endsWith("/images/img-1.qcow2");
        assertThat(backend.export("v9", "vdb", false).serial()).isEqualTo("v9");
        assertThat(FileBackend.serial("0123456789abcdef0123456789")).hasSize(20);
        Capacity c = backend.capacity();
        assertThat(c.totalBytes()).isPositive();
        assertThat(c.admits(0, GIB)).isTrue();
        assertThat(c.admits((long) (c.totalBytes() * 20.0), 1)).isFalse();
        Path stale = backend.root().resolve("tmp").resolve("volume-stale.part");
        Files.writeString(stale, "x");
        Files.setLastModifiedTime(stale, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(60)));
        Path fresh = backend.root().resolve("tmp").resolve("volume-fresh.part");
        Files.writeString(fresh, "x");
        backend.cleanTemporary(java.time.Instant.now().minusSeconds(30));
        assertThat(stale).doesNotExist();
        assertThat(fresh).exists();
        assertThat(List.of(backend.rootDiskIds())).containsExactly(java.util.Set.of());
    }

}
