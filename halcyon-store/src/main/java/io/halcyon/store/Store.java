package io.halcyon.store;

import java.time.Duration;
import java.util.Optional;

/**
 * A revisioned key-value store with etcd's semantics. Every write transaction that changes
 * something raises the store revision by one; all its changes share that revision. Keys carry
 * their create and mod revisions, so callers do optimistic concurrency with {@link Compare}.
 * Watches deliver every change after a revision, in revision order, with no gaps; a watch from a
 * revision that has been compacted fails with {@link CompactedException}. Keys attached to a lease
 * are deleted, as ordinary delete events, when the lease expires or is revoked.
 */
public interface Store extends AutoCloseable {

    /** The latest value of a key. */
    Optional<KeyValue> get(String key);

    /** All keys starting with {@code prefix}, sorted by key, at the current revision. */
    RangeResult range(String prefix);

    /** All keys starting with {@code prefix} as they were at {@code revision}. */
    RangeResult range(String prefix, long revision);

    /** Applies {@code txn.onSuccess()} if every compare holds, else {@code txn.onFailure()}, atomically. */
    TxnResult txn(Txn txn);

    /** Streams every change under {@code prefix} with a revision of at least {@code fromRevision}. */
    Watch watch(String prefix, long fromRevision, WatchListener listener);

    /** Creates a lease that expires {@code ttl} after its last keep-alive. */
    long grantLease(Duration ttl);

    /** Renews a lease for its full TTL; throws {@link LeaseNotFoundException} when it has expired. */
    void keepAlive(long leaseId);

    /** Revokes a lease, deleting the keys attached to it. Revoking an unknown lease does nothing. */
    void revokeLease(long leaseId);

    /** The current store revision. */
    long revision();

    /** Forgets history before {@code revision}: later reads and watches below it fail as compacted. */
    void compact(long revision);

    @Override
    void close();

    /** Convenience: an unconditional put. */
    default long put(String key, byte[] value) {
        return txn(Txn.builder().onSuccess(Op.put(key, value)).build()).revision();
    }

    /** Convenience: an unconditional delete. */
    default long delete(String key) {
        return txn(Txn.builder().onSuccess(Op.delete(key)).build()).revision();
    }
}
