package io.halcyon.store;

import java.util.List;

/** Keys read from the store, and the store revision the read is consistent with. */
public record RangeResult(List<KeyValue> kvs, long revision) {
    public RangeResult {
        kvs = List.copyOf(kvs);
    }
}
