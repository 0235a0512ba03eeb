package io.halcyon.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Run directories: made 0700, and refused when someone else made them first or could swap them. Runs as root, as CI does. */
class PrivateDirsTest {
    static final int NOBODY = 65534;

    @Test
    void missingDirectoriesAreMadeOwnerOnlyAndLooseOnesOfOursTightened(@TempDir Path dir) throws Exception {
        Path run = PrivateDirs.ensure(dir.resolve("a/b/run"));
        for (Path p : new Path[] {dir.resolve("a"), dir.resolve("a/b"), run}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).as(p.toString()).isEqualTo("rwx------");
        }
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxrwxrwx"));
        PrivateDirs.ensure(run);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(run))).isEqualTo("rwx------");
    }

    @Test
    void aDirectoryAnotherUserMadeFirstIsRefused(@TempDir Path dir) throws Exception {
        Path squatted = Files.createDirectory(dir.resolve("run"));
        Files.setAttribute(squatted, "unix:uid", NOBODY);
        assertThatThrownBy(() -> PrivateDirs.ensure(squatted)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("belongs to user").hasMessageContaining("remove it");
        // nor one beneath a directory another user owns, who could swap it
        Path under = squatted.resolve("inner");
        assertThatThrownBy(() -> PrivateDirs.ensure(under)).isInstanceOf(ConfigException.class).hasMessageContaining("could swap it");
    }

    @Test
    void aLinkOrAFileInItsPlaceIsRefused(@TempDir Path dir) throws Exception {
        Path target = Files.createDirectory(dir.resolve("elsewhere"));
        Path link = Files.createSymbolicLink(dir.resolve("run"), target);
        assertThatThrownBy(() -> PrivateDirs.ensure(link)).isInstanceOf(ConfigException.class).hasMessageContaining("not a link");
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertThatThrownBy(() -> PrivateDirs.ensure(file)).isInstanceOf(ConfigException.class);
        assertThat(Files.isSymbolicLink(link) && Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)).isTrue();
    }
}
