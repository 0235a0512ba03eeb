package io.halcyon.it;

import io.halcyon.testkit.Command;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** What the {@code file} storage backend of a test cloud holds on disk, by id. */
final class StorageFiles {
    private StorageFiles() {
    }

    static Path root(Path cloudDir) {
        return cloudDir.resolve("data").resolve("storage").resolve("file");
    }

    /** Ids of the files in {@code volumes}, {@code snapshots}, {@code servers} or {@code images}; half-made files count too. */
    static Set<String> ids(Path cloudDir, String kind) throws IOException {
        var out = new TreeSet<String>();
        Path d = root(cloudDir).resolve(kind);
        if (!Files.isDirectory(d)) {
            return out;
        }
        try (var s = Files.list(d)) {
            s.map(p -> p.getFileName().toString()).forEach(n -> out.add(n.replaceAll("^\\.", "").replaceAll("\\..*$", "")));
        }
        return out;
    }

    /** Disk space the files under {@code dir} take (allocated blocks, as du counts them: holes are free). */
    static long bytesUsed(Path dir) {
        var r = Command.run(List.of("du", "-s", "-B1", dir.toString()), Map.of(), Duration.ofSeconds(60)).orThrow();
        return Long.parseLong(r.stdout().trim().split("\\s+")[0]);
    }
}
