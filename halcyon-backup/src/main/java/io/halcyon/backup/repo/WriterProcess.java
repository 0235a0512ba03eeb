package io.halcyon.backup.repo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Who registered a backup: boot id, PID namespace, pid and process start time. A collector that
 * runs under the same boot and PID namespace can tell a backup killed with SIGKILL from a live
 * one at once, instead of waiting for its registration to go stale; from anywhere else it cannot,
 * and does not guess.
 */
record WriterProcess(String boot, String pidNamespace, long pid, long startMillis) {
    static WriterProcess current() {
        ProcessHandle self = ProcessHandle.current();
        return new WriterProcess(thisBoot(), thisPidNamespace(), self.pid(), self.info().startInstant().map(i -> i.toEpochMilli()).orElse(-1L));
    }

    String describe() {
        return boot + " " + pidNamespace + " " + pid + " " + startMillis;
    }

    static Optional<WriterProcess> parse(String s) {
        String[] f = s.strip().split(" ");
        if (f.length != 4) {
            return Optional.empty();
        }
        try {
            return Optional.of(new WriterProcess(f[0], f[1], Long.parseLong(f[2]), Long.parseLong(f[3])));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** True only when this process can see the writer's PID namespace and the writer is not in it any more. */
    boolean provablyGone() {
        if (boot.equals("?") || pidNamespace.equals("?") || !boot.equals(thisBoot()) || !pidNamespace.equals(thisPidNamespace())) {
            return false;
        }
        return ProcessHandle.of(pid).map(p -> p.info().startInstant().map(i -> i.toEpochMilli() != startMillis).orElse(false))
                .orElse(true);
    }

    private static String thisBoot() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
        } catch (IOException e) {
            return "?";
        }
    }

    private static String thisPidNamespace() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString().replaceAll("[^0-9]", "");
        } catch (IOException | UnsupportedOperationException e) {
            return "?";
        }
    }
}
