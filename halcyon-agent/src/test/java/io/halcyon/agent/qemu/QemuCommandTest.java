package io.halcyon.agent.qemu;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Golden files: the exact QEMU command lines, one argument per line. */
class QemuCommandTest {
    static String golden(String name) throws IOException {
        try (var in = QemuCommandTest.class.getResourceAsStream("/golden/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static QemuCommand.Spec spec(String accel, Path configDrive) {
        Path d = Path.of("/var/lib/halcyon/agent/guests/5f3c1e2a-0b1c-4d2e-8f3a-9b8c7d6e5f4a");
        return new QemuCommand.Spec("5f3c1e2a-0b1c-4d2e-8f3a-9b8c7d6e5f4a", "instance-5f3c1e2a", 2, 256, accel, "pc", "qemu-system-x86_64",
                d.resolve("disk.qcow2"), configDrive, d.resolve("console.log"), d.resolve("qmp.sock"), d.resolve("qemu.pid"));
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
}
