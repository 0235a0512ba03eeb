package io.halcyon.model.network;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * One rule of a security group: traffic it admits in {@code direction} (ingress or egress) for
 * {@code ethertype} (IPv4, IPv6), optionally only {@code protocol} (a name or number) within a port
 * range, from or to {@code remoteIpPrefix} or the members of {@code remoteGroupId}.
 */
public record SecurityGroupRule(String id, String projectId, String securityGroupId, String direction, String ethertype,
                                String protocol, Integer portRangeMin, Integer portRangeMax, String remoteIpPrefix,
                                String remoteGroupId, String description, Instant createdAt, Instant updatedAt) {
    public static final String INGRESS = "ingress";
    public static final String EGRESS = "egress";

    public SecurityGroupRule {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(securityGroupId, "securityGroupId is null");
        requireNonNull(direction, "direction is null");
        requireNonNull(ethertype, "ethertype is null");
        description = description == null ? "" : description;
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }
}
