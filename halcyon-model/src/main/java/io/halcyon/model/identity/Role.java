package io.halcyon.model.identity;

import static java.util.Objects.requireNonNull;

/** A role. The built-in ones are admin, member and reader; each implies the ones after it. */
public record Role(String id, String name, String description) {
    public static final String ADMIN = "admin";
    public static final String MEMBER = "member";
    public static final String READER = "reader";

    public Role {
        requireNonNull(id, "id is null");
        requireNonNull(name, "name is null");
        description = description == null ? "" : description;
    }
}
