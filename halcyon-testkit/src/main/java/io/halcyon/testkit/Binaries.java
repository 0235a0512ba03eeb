package io.halcyon.testkit;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finds the executables the tests run; a missing one fails with the Debian package to install. */
public final class Binaries {
    private Binaries() {
    }

    public static Optional<Path> find(String name) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin";
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    public static Path require(String name, String debianPackage) {
        return find(name).orElseThrow(() -> new IllegalStateException(
                name + " not found on PATH: install the Debian package " + debianPackage + " (./halcyon test does this)"));
    }
}
