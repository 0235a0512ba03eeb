package io.halcyon.model.identity;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

import static java.util.Objects.requireNonNull;

/**
 * Reserves a name within a kind (project and user names in the domain, role and flavor names):
 * written with an absent-compare in the same transaction as the owner, so two concurrent creates
 * of one name cannot both succeed.
 */
public record NameClaim(String kind, String name, String ownerId) {
    public NameClaim {
        requireNonNull(kind, "kind is null");
        requireNonNull(name, "name is null");
        requireNonNull(ownerId, "ownerId is null");
    }

    public String id() {
        return id(kind, name);
    }

    public static String id(String kind, String name) {
        return kind + "/" + URLEncoder.encode(name, StandardCharsets.UTF_8);
    }
}
