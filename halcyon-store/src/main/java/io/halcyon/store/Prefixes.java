package io.halcyon.store;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Key-range helpers shared by the backends; keys compare as their UTF-8 bytes, as in etcd. */
public final class Prefixes {
    private Prefixes() {
    }

    public static byte[] bytes(String key) {
        return key.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The smallest byte string greater than every one starting with {@code prefix}, or null when
     * there is none (an empty prefix, or one made only of 0xFF bytes).
     */
    public static byte[] rangeEnd(byte[] prefix) {
        for (int i = prefix.length - 1; i >= 0; i--) {
            if (prefix[i] != (byte) 0xFF) {
                byte[] end = Arrays.copyOf(prefix, i + 1);
                end[i]++;
                return end;
            }
        }
        return null;
    }
}
