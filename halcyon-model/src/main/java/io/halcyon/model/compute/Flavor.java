package io.halcyon.model.compute;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/** A Nova flavor. {@code id} is free-form (Nova accepts "1" as well as UUIDs). */
public record Flavor(String id, String name, int vcpus, int ramMb, int diskGb, int ephemeralGb, int swapMb, double rxtxFactor,
                     boolean isPublic, boolean disabled, String description, Map<String, String> extraSpecs, Instant createdAt) {
    public Flavor {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        extraSpecs = extraSpecs == null ? Map.of() : Map.copyOf(new TreeMap<>(extraSpecs));
        requireNonNull(createdAt, "createdAt is null");
    }

    public Flavor withExtraSpecs(Map<String, String> specs) {
        return new Flavor(id, name, vcpus, ramMb, diskGb, ephemeralGb, swapMb, rxtxFactor, isPublic, disabled, description, specs, createdAt);
    }

    public Flavor withDescription(String d) {
        return new Flavor(id, name, vcpus, ramMb, diskGb, ephemeralGb, swapMb, rxtxFactor, isPublic, disabled, d, extraSpecs, createdAt);
    }

    public FlavorSnapshot snapshot() {
        return new FlavorSnapshot(id, name, vcpus, ramMb, diskGb, ephemeralGb, swapMb, extraSpecs);
    }
}
