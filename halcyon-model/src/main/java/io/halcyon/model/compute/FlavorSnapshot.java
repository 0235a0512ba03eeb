package io.halcyon.model.compute;

import java.util.Map;

import static java.util.Objects.requireNonNull;

/** The flavor as it was when a server was created: later flavor edits never resize a server. */
public record FlavorSnapshot(String id, String name, int vcpus, int ramMb, int diskGb, int ephemeralGb, int swapMb,
                             Map<String, String> extraSpecs) {
    public FlavorSnapshot {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        extraSpecs = extraSpecs == null ? Map.of() : Map.copyOf(extraSpecs);
    }

    /** Disk the server takes on its host: root + ephemeral + swap, in GiB rounded up. */
    public int totalDiskGb() {
        return diskGb + ephemeralGb + (swapMb + 1023) / 1024;
    }
}
