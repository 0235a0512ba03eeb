package io.halcyon.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A user-data script for the tiny guest that reports on its console each virtio disk with a serial
 * as it appears ({@code disk+ SERIAL DEV data=... sectors=N}) and goes ({@code disk- SERIAL}), so
 * tests and benchmarks see what the guest really has. It can write a mark on disks first.
 */
public final class DiskProbe {
    private DiskProbe() {
    }

    /**
     * @param writeSerial the serial of a disk to write {@code pattern} on, "*" to write
     *                    "halcyon-SERIAL" on every blank disk, or null to write nothing
     * @param intervalMicros how often the guest looks at its disks
     */
    public static String script(String writeSerial, String pattern, int intervalMicros) {
        try (InputStream in = DiskProbe.class.getResourceAsStream("disk-probe.sh")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8)
                    .replace("@WRITE_SERIAL@", writeSerial == null ? "" : writeSerial)
                    .replace("@PATTERN@", pattern == null ? "" : pattern)
                    .replace("@INTERVAL_US@", Integer.toString(intervalMicros));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
