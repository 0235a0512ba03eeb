package io.halcyon.it;

import java.nio.file.Path;

/** Locations the build passes to integration tests. */
final class Paths {
    private Paths() {
    }

    static Path root() {
        return Path.of(System.getProperty("halcyon.root", "..")).toAbsolutePath().normalize();
    }

    static Path jar() {
        return Path.of(System.getProperty("halcyon.jar", "../halcyon-cli/target/halcyon.jar")).toAbsolutePath().normalize();
    }

    static Path work() {
        return Path.of(System.getProperty("halcyon.work", "target/it-work")).toAbsolutePath().normalize();
    }
}
