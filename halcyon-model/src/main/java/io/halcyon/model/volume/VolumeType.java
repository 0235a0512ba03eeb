package io.halcyon.model.volume;

import java.util.Map;

import static java.util.Objects.requireNonNull;

/** A volume type: a name users pick, mapped to a storage backend. */
public record VolumeType(String id, String name, String description, String backend, boolean isPublic, Map<String, String> extraSpecs) {
    public VolumeType {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(backend, "backend is null");
        extraSpecs = extraSpecs == null ? Map.of() : Map.copyOf(extraSpecs);
    }
}
