package io.halcyon.store;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static java.util.Objects.requireNonNull;

/**
 * One key at one revision. {@code version} counts puts since the key was (re)created; it is 0 and
 * the revisions are 0 for a key that does not exist, as in etcd's compares.
 */
public record KeyValue(String key, byte[] value, long createRevision, long modRevision, long version, long lease) {
    public KeyValue {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
    }

    public String valueAsString() {
        return new String(value, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyValue other && key.equals(other.key) && Arrays.equals(value, other.value)
                && createRevision == other.createRevision && modRevision == other.modRevision
                && version == other.version && lease == other.lease;
    }

    @Override
    public int hashCode() {
        return key.hashCode() * 31 + Long.hashCode(modRevision);
    }

    @Override
    public String toString() {
        return "KeyValue[" + key + " create=" + createRevision + " mod=" + modRevision + " version=" + version
                + " lease=" + lease + " bytes=" + value.length + "]";
    }
}
