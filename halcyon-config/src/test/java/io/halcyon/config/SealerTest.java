package io.halcyon.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SealerTest {
    @Test
    void sealsSoNothingInClearIsStoredAndOnlyTheSameContextAndKeyOpen(@TempDir Path dir) throws Exception {
        Path key = dir.resolve("secret.key");
        var c = Sealer.loadOrCreate(key);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        String sealed = c.seal("host1", "halcyon-bmc");
        assertThat(sealed).startsWith("v1:").doesNotContain("halcyon-bmc");
        assertThat(Sealer.isSealed(sealed)).isTrue();
        assertThat(c.seal("host1", "halcyon-bmc")).isNotEqualTo(sealed);
        assertThat(c.open("host1", sealed)).isEqualTo("halcyon-bmc");
        assertThat(Sealer.loadOrCreate(key).open("host1", sealed)).as("an existing key file is kept").isEqualTo("halcyon-bmc");
        assertThatThrownBy(() -> c.open("host2", sealed)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("host2");
        assertThatThrownBy(() -> Sealer.loadOrCreate(dir.resolve("other.key")).open("host1", sealed))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> c.open("host1", "plain")).isInstanceOf(IllegalArgumentException.class);
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("secret.key", "other.key");
        }
    }

    @Test
    void refusesAKeyOfTheWrongSizeOrOneOthersCanRead(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> new Sealer(new byte[16])).hasMessageContaining("32 bytes");
        Path k = dir.resolve("k");
        Files.writeString(k, "not base64!");
        Files.setPosixFilePermissions(k, PrivateDirs.OWNER_FILE);
        assertThatThrownBy(() -> Sealer.fromFile(k)).hasMessageContaining("base64");
        Sealer.generate(dir.resolve("open.key"));
        Files.setPosixFilePermissions(dir.resolve("open.key"), PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> Sealer.fromFile(dir.resolve("open.key"))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("chmod 600");
    }
}
