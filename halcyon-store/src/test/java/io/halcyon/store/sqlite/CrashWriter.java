package io.halcyon.store.sqlite;

import io.halcyon.store.StoreLockedException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** A child process for crash tests: writes keys and prints each one after the store acknowledged it. */
public final class CrashWriter {
    private CrashWriter() {
    }

    public static void main(String[] args) {
        try (var s = SqliteStore.open(Path.of(args[0]))) {
            long n = Long.parseLong(args[1]);
            for (long i = 0; i < n; i++) {
                s.put("/crash/" + i, ("value-" + i).getBytes(StandardCharsets.UTF_8));
                System.out.println("acked " + i);
                System.out.flush();
            }
        } catch (StoreLockedException e) {
            System.out.println(e.getMessage());
            System.exit(3);
        }
    }
}
