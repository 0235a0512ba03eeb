package io.halcyon.storage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/** The storage backends a controller drives, by name; the first is the default for root disks. */
public final class Backends {
    private final Map<String, VolumeBackend> byName = new LinkedHashMap<>();
    private final VolumeBackend rootDisks;

    public Backends(List<VolumeBackend> backends, String rootDiskBackend) {
        for (VolumeBackend b : backends) {
            if (byName.putIfAbsent(b.name(), b) != null) {
                throw new IllegalArgumentException("two storage backends are named " + b.name());
            }
        }
        if (byName.isEmpty()) {
            throw new IllegalArgumentException("at least one storage backend is required");
        }
        this.rootDisks = rootDiskBackend == null ? backends.get(0) : requireNonNull(byName.get(rootDiskBackend),
                "no storage backend named " + rootDiskBackend);
    }

    public Optional<VolumeBackend> get(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    public VolumeBackend require(String name) {
        VolumeBackend b = byName.get(name);
        if (b == null) {
            throw new IllegalStateException("no storage backend named " + name);
        }
        return b;
    }

    public VolumeBackend rootDisks() {
        return rootDisks;
    }

    public List<VolumeBackend> all() {
        return List.copyOf(byName.values());
    }
}
