package io.halcyon.model.network;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/** A Neutron security group: stateful filtering of its member ports' traffic (an OVN port group with ACLs). */
public record SecurityGroup(String id, String projectId, String name, String description, boolean stateful, Instant createdAt,
                            Instant updatedAt, long revisionNumber) {
    public static final String DEFAULT = "default";

    public SecurityGroup {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        name = name == null ? "" : name;
        description = description == null ? "" : description;
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public SecurityGroup withDetails(String n, String d, Instant now) {
        return new SecurityGroup(id, projectId, n, d, stateful, createdAt, now, revisionNumber + 1);
    }
}
