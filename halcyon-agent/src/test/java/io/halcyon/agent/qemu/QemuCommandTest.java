package io.halcyon.agent.qemu;

import io.halcyon.model.agent.DiskSpec;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Golden files: the exact QEMU command lines, one argument per line. */
class QemuCommandTest {
    static String golden(String name) throws IOException {
        try (var in = QemuCommandTest.class.getResourceAsStream("/golden/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static final String STORAGE = "/var/lib/halcyon/storage/file";
    static final DiskSpec ROOT = new DiskSpec(null, "file", STORAGE + "/servers/5f3c1e2a-0b1c-4d2e-8f3a-9b8c7d6e5f4a.qcow2", "qcow2", null,
            "vda", false, new DiskSpec.BaseImage("9a0c", STORAGE + "/images/9a0c.qcow2", "qcow2", null), 1L << 30);

    static QemuCommand.Spec spec(String accel, DiskSpec root, List<DiskSpec> volumes, Path configDrive) {
        Path d = Path.of("/var/lib/halcyon/agent/guests/5f3c1e2a-0b1c-4d2e-8f3a-9b8c7d6e5f4a");
        return new QemuCommand.Spec("5f3c1e2a-0b1c-4d2e-8f3a-9b8c7d6e5f4a", "instance-5f3c1e2a", 2, 256, accel, "pc", "qemu-system-x86_64",
                root, volumes, configDrive, d.resolve("console.log"), d.resolve("qmp.sock"), d.resolve("qemu.pid"), List.of());
    }

    static QemuCommand.Spec spec(String accel, Path configDrive) {
        return spec(accel, ROOT, List.of(), configDrive);
    }

    static DiskSpec volume(String id) {
        return new DiskSpec(id, "file", STORAGE + "/volumes/" + id + ".qcow2", "qcow2", id.substring(0, 20), "vdb", false, null, 0);
    }

    @Test
    void tcgGuestWithoutConfigDrive() throws IOException {
        assertThat(String.join("\n", QemuCommand.argv(spec("tcg", null))) + "\n").isEqualTo(golden("qemu-tcg.txt"));
    }

    @Test
    void kvmGuestWithConfigDrive() throws IOException {
        var cfg = Path.of("/var/lib/halcyon/agent/guests/5f3c1e2a-0b1c-4d2e-8f3a-9b8c7d6e5f4a/config.img");
        assertThat(String.join("\n", QemuCommand.argv(spec("kvm", cfg))) + "\n").isEqualTo(golden("qemu-kvm-config-drive.txt"));
    }

    @Test
    void bootFromVolumeWithDataVolumes() throws IOException {
        var root = new DiskSpec("0b6d9a52-6c0f-4a51-9d63-1f0c5a7e2b11", "file", STORAGE + "/volumes/0b6d9a52-6c0f-4a51-9d63-1f0c5a7e2b11.qcow2",
                "qcow2", "0b6d9a52-6c0f-4a51-9", "vda", false, null, 0);
        var argv = QemuCommand.argv(spec("tcg", root, List.of(volume("7c1e4f3a-2d5b-4e6f-8a9b-0c1d2e3f4a5b"),
                volume("e2f3a4b5-c6d7-4e8f-9a0b-1c2d3e4f5a6b")), null));
        assertThat(String.join("\n", argv) + "\n").isEqualTo(golden("qemu-boot-from-volume.txt"));
    }

    @Test
    void anUnknownDiskDriverIsRefused() {
        var iscsi = new DiskSpec("7c1e4f3a-2d5b-4e6f-8a9b-0c1d2e3f4a5b", "iscsi", "volumes/x", "raw", "7c1e4f3a-2d5b-4e6f-8", "vdb", false, null, 0);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> QemuCommand.argv(spec("tcg", ROOT, List.of(iscsi), null)))
                .hasMessageContaining("disk driver iscsi is not supported");
    }

    @Test
    void rbdDisksAreOpenedByQemusLibrbd() {
        var rbd = new DiskSpec("7c1e4f3a-2d5b-4e6f-8a9b-0c1d2e3f4a5b", "rbd", "volumes/volume-7c1e4f3a-2d5b-4e6f-8a9b-0c1d2e3f4a5b", "raw",
                "7c1e4f3a-2d5b-4e6f-8", "vdb", false, null, 0, java.util.Map.of("pool", "volumes", "conf", "/etc/ceph/ceph.conf", "user", "halcyon"));
        String argv = String.join(" ", QemuCommand.argv(spec("tcg", ROOT, List.of(rbd), null)));
        assertThat(argv).contains("{\"driver\":\"rbd\",\"pool\":\"volumes\",\"image\":\"volume-7c1e4f3a-2d5b-4e6f-8a9b-0c1d2e3f4a5b\","
                + "\"conf\":\"/etc/ceph/ceph.conf\",\"user\":\"halcyon\",\"node-name\":\"" + QemuCommand.fileNode(rbd.volumeId()) + "\","
                + "\"discard\":\"unmap\"}");
        assertThat(argv).contains("{\"driver\":\"raw\",\"node-name\":\"" + QemuCommand.formatNode(rbd.volumeId()) + "\"");
    }

    @Test
    void nodeNamesFitQemusLimitAndDifferPerVolume() {
        String id = "7c1e4f3a-2d5b-4e6f-8a9b-0c1d2e3f4a5b";
        assertThat(QemuCommand.formatNode(id)).hasSizeLessThanOrEqualTo(31).startsWith("v").isNotEqualTo(QemuCommand.fileNode(id));
        assertThat(QemuCommand.fileNode(id)).hasSizeLessThanOrEqualTo(31).matches("[a-z][0-9a-f]+");
        assertThat(QemuCommand.formatNode(id)).isNotEqualTo(QemuCommand.formatNode("e2f3a4b5-c6d7-4e8f-9a0b-1c2d3e4f5a6b"));
    }

    @Test
    void nicsAreTapsWithoutVnetHeaderInPortOrder() {
        var base = spec("tcg", null);
        var withNics = new QemuCommand.Spec(base.serverId(), base.instanceName(), base.vcpus(), base.ramMb(), base.accel(), base.machine(),
                base.qemuBinary(), base.root(), base.volumes(), null, base.console(), base.qmp(), base.pidFile(),
                List.of(new io.halcyon.model.agent.NicSpec("0b9e2c6a-1111-2222-3333-444444444444", "fa:16:3e:00:00:01", 1442),
                        new io.halcyon.model.agent.NicSpec("7c1d0f3e-1111-2222-3333-444444444444", "fa:16:3e:00:00:02", 1442)));
        String line = String.join(" ", QemuCommand.argv(withNics));
        assertThat(line).contains("-netdev tap,id=hostnet-0b9e2c6a-1111-2222-3333-444444444444,ifname=tap0b9e2c6a-11,script=no,"
                + "downscript=no,vnet_hdr=off -device virtio-net-pci,netdev=hostnet-0b9e2c6a-1111-2222-3333-444444444444,"
                + "mac=fa:16:3e:00:00:01,id=nic-0b9e2c6a-1111-2222-3333-444444444444");
        assertThat(line.indexOf("tap0b9e2c6a-11")).isLessThan(line.indexOf("tap7c1d0f3e-11"));
    }

    @Test
    void aWatchdogDeviceWithNovasActionAndPauseForHaGuests() {
        var base = spec("tcg", null);
        var withWatchdog = new QemuCommand.Spec(base.serverId(), base.instanceName(), base.vcpus(), base.ramMb(), base.accel(), base.machine(),
                base.qemuBinary(), base.root(), base.volumes(), base.configDrive(), base.console(), base.qmp(), base.pidFile(), base.nics(),
                "pause", 1);
        String argv = String.join(" ", QemuCommand.argv(withWatchdog));
        assertThat(argv).contains("-device i6300esb,id=watchdog0 -action watchdog=pause");
        assertThat(String.join(" ", QemuCommand.argv(base))).doesNotContain("i6300esb");
        assertThat(QemuCommand.watchdogAction("reset", true)).isEqualTo("pause");
        assertThat(QemuCommand.watchdogAction("reset", false)).isEqualTo("reset");
        assertThat(QemuCommand.watchdogAction("poweroff", true)).isEqualTo("poweroff");
        assertThat(QemuCommand.watchdogAction("disabled", true)).isNull();
        assertThat(QemuCommand.watchdogAction(null, true)).isNull();
    }

    @Test
    void serialPortsBeyondTheConsoleAreLoggedBesideIt() {
        var base = spec("tcg", null);
        var two = new QemuCommand.Spec(base.serverId(), base.instanceName(), base.vcpus(), base.ramMb(), base.accel(), base.machine(),
                base.qemuBinary(), base.root(), base.volumes(), base.configDrive(), base.console(), base.qmp(), base.pidFile(), base.nics(),
                null, QemuCommand.serialPorts("2"));
        String argv = String.join(" ", QemuCommand.argv(two));
        assertThat(argv).contains("-chardev file,id=serial1,path=" + base.console().getParent().resolve("serial-1.log") + ",append=on "
                + "-serial chardev:serial1");
        assertThat(String.join(" ", QemuCommand.argv(base))).doesNotContain("serial1");
        assertThat(QemuCommand.serialPorts("9")).isEqualTo(1);
        assertThat(QemuCommand.serialPorts(null)).isEqualTo(1);
    }

    @Test
    void writableFileDisksAreOpenedWithTheirLockOn() {
        String argv = String.join(" ", QemuCommand.argv(spec("tcg", null)));
        assertThat(argv).contains("\"locking\":\"on\"");
    }
}
