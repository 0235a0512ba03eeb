package io.halcyon.api.ha;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CredentialsTest {
    @Test
    void sealsSoNothingInClearIsStoredAndOnlyTheSameHostAndKeyOpen(@TempDir Path dir) throws Exception {
        Path key = dir.resolve("ha.key");
        Credentials.generate(key);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        var c = Credentials.fromFile(key);
        String sealed = c.seal("host1", "halcyon-bmc");
        assertThat(sealed).startsWith("v1:").doesNotContain("halcyon-bmc");
        assertThat(c.seal("host1", "halcyon-bmc")).isNotEqualTo(sealed);
        assertThat(c.open("host1", sealed)).isEqualTo("halcyon-bmc");
        assertThatThrownBy(() -> c.open("host2", sealed)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("host2");
        Credentials.generate(dir.resolve("other.key"));
        assertThatThrownBy(() -> Credentials.fromFile(dir.resolve("other.key")).open("host1", sealed))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> c.open("host1", "plain")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void refusesAKeyOfTheWrongSize(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> new Credentials(new byte[16])).hasMessageContaining("32 bytes");
        Files.writeString(dir.resolve("k"), "not base64!");
        assertThatThrownBy(() -> Credentials.fromFile(dir.resolve("k"))).hasMessageContaining("base64");
    }
}
