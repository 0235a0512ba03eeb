package io.halcyon.api.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The hosts' heartbeats on the shared storage, as the controllers read them: one small file per
 * host in a directory every host and controller mounts, holding the agent's boot id and a sequence
 * number it rewrites on every beat.
 */
public final class Witness {
    private Witness() {
    }

    /** The host's heartbeat file as it is now, or null when there is none (or it cannot be read). */
    public static String read(Path dir, String host) {
        try {
            return Files.readString(dir.resolve(host), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the host's current agent (boot id) writes the file this controller reads. */
    public static boolean writtenBy(Path dir, String host, String bootId) {
        String s = dir == null || bootId == null ? null : read(dir, host);
        return s != null && s.startsWith(bootId + " ");
    }
}
