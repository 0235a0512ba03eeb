package io.halcyon.model.identity;

import java.time.Instant;
import java.util.List;

import static java.util.Objects.requireNonNull;

public record Project(String id, String name, String domainId, String description, boolean enabled, List<String> tags,
                      Instant createdAt) {
    public Project {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        requireNonNull(domainId, "domainId is null");
        description = description == null ? "" : description;
        tags = tags == null ? List.of() : List.copyOf(tags);
        requireNonNull(createdAt, "createdAt is null");
    }

    public Project withName(String n) {
        return new Project(id, n, domainId, description, enabled, tags, createdAt);
    }

    public Project withDescription(String d) {
        return new Project(id, name, domainId, d, enabled, tags, createdAt);
    }

    public Project withEnabled(boolean e) {
        return new Project(id, name, domainId, description, e, tags, createdAt);
    }

    public Project withTags(List<String> t) {
        return new Project(id, name, domainId, description, enabled, t, createdAt);
    }
}
