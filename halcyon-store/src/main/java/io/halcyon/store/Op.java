package io.halcyon.store;

import static java.util.Objects.requireNonNull;

/** One operation of a {@link Txn} branch. */
public sealed interface Op {
    String key();

    /** Writes a value; {@code lease} 0 means the key is not attached to a lease. */
    record Put(String key, byte[] value, long lease) implements Op {
        public Put {
            requireNonNull(key, "key is null");
            requireNonNull(value, "value is null");
        }
    }

    /** Deletes one key, or every key under a prefix when {@code prefix} is true. */
    record Delete(String key, boolean prefix) implements Op {
        public Delete {
            requireNonNull(key, "key is null");
        }
    }

    /** Reads one key inside the transaction. */
    record Get(String key) implements Op {
        public Get {
            requireNonNull(key, "key is null");
        }
    }

    static Op put(String key, byte[] value) {
        return new Put(key, value, 0);
    }

    static Op put(String key, byte[] value, long lease) {
        return new Put(key, value, lease);
    }

    static Op delete(String key) {
        return new Delete(key, false);
    }

    static Op deletePrefix(String prefix) {
        return new Delete(prefix, true);
    }

    static Op get(String key) {
        return new Get(key);
    }
}
