package io.halcyon.store;

import java.util.List;
import java.util.Optional;

/**
 * The outcome of a {@link Txn}: which branch ran, the store revision after it (the new revision
 * if it wrote, else the current one) and, for each {@link Op.Get} of that branch in order, the
 * value read (null when absent).
 */
public record TxnResult(boolean succeeded, long revision, List<Optional<KeyValue>> reads) {
    public TxnResult {
        reads = List.copyOf(reads);
    }
}
