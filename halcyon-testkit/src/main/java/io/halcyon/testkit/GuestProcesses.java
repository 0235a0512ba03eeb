package io.halcyon.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * QEMU processes of guests under an agent data directory, found by their pid files and checked
 * by command line, so tests clean up exactly what they started and nothing else.
 */
public final class GuestProcesses {
    private GuestProcesses() {
    }

    public static long pid(Path agentDir, String serverId) {
        Path f = agentDir.resolve("guests").resolve(serverId).resolve("qemu.pid");
        try {
            long pid = Long.parseLong(Files.readString(f).trim());
            String cmd = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")), StandardCharsets.UTF_8);
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return cmd.contains("-uuid\0" + serverId + "\0") && state != 'Z' ? pid : -1;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    public static List<Long> all(Path agentDir) {
        var out = new ArrayList<Long>();
        Path guests = agentDir.resolve("guests");
        if (!Files.isDirectory(guests)) {
            return out;
        }
        try (var s = Files.list(guests)) {
            for (Path d : s.toList()) {
                long pid = pid(agentDir, d.getFileName().toString());
                if (pid > 0) {
                    out.add(pid);
                }
            }
        } catch (IOException ignored) {
            // nothing to list
        }
        return out;
    }

    /** SIGKILLs every guest QEMU under the directory; for test clean-up. */
    public static void killAll(Path agentDir) {
        for (long pid : all(agentDir)) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }
}
