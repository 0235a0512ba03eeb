package io.halcyon.runtime;

import java.util.function.Function;

import static java.util.Objects.requireNonNull;

/** A resource type in the store: its records live under {@code /halcyon/<name>/<id>}. */
public record Kind<T>(String name, Class<T> type, Function<T, String> idOf) {
    public static final String ROOT = "/halcyon/";

    public Kind {
        requireNonNull(name, "name is null");
        requireNonNull(type, "type is null");
        requireNonNull(idOf, "idOf is null");
        if (name.contains("/")) {
            throw new IllegalArgumentException("kind name must not contain '/': " + name);
        }
    }

    public String prefix() {
        return ROOT + name + "/";
    }

    public String key(String id) {
        return prefix() + id;
    }

    public String key(T value) {
        return key(idOf.apply(value));
    }

    /** The id of a key under this kind, or null when the key is not one of this kind's. */
    public String idOfKey(String key) {
        String prefix = prefix();
        return key.startsWith(prefix) && key.length() > prefix.length() ? key.substring(prefix.length()) : null;
    }
}
