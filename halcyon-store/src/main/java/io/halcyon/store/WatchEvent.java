package io.halcyon.store;

import static java.util.Objects.requireNonNull;

/**
 * One change. For a PUT, {@code kv} is the new value; for a DELETE, {@code kv} carries the key and
 * the deletion's revision as its mod revision, and an empty value.
 */
public record WatchEvent(Type type, KeyValue kv) {
    public enum Type { PUT, DELETE }

    public WatchEvent {
        requireNonNull(type, "type is null");
        requireNonNull(kv, "kv is null");
    }

    public long revision() {
        return kv.modRevision();
    }
}
