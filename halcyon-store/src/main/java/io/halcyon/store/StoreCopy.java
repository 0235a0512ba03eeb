package io.halcyon.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Copies a cloud's state from one store to another (an all-in-one's SQLite file into an etcd
 * cluster) and proves the copy: the same keys with the same values on both sides, by count and by
 * a SHA-256 over every key and value in order. Keys bound to a lease (the leader key, hosts' leases)
 * are left behind: they belong to processes that are not running, and come back when they start.
 */
public final class StoreCopy {
    /** What was copied, and the digest both sides share. */
    public record Report(int keys, long bytes, String sha256) {
    }

    private static final int BATCH = 100;

    private StoreCopy() {
    }

    /** The durable part of a store under {@code prefix}: every key not bound to a lease, in key order. */
    public static List<KeyValue> durable(Store store, String prefix) {
        var out = new ArrayList<KeyValue>();
        for (KeyValue kv : store.range(prefix).kvs()) {
            if (kv.lease() == 0) {
                out.add(kv);
            }
        }
        out.sort(java.util.Comparator.comparing(KeyValue::key));
        return out;
    }

    public static Report summarise(List<KeyValue> kvs) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            long bytes = 0;
            for (KeyValue kv : kvs) {
                byte[] k = kv.key().getBytes(StandardCharsets.UTF_8);
                md.update(java.nio.ByteBuffer.allocate(8).putInt(k.length).putInt(kv.value().length).array());
                md.update(k);
                md.update(kv.value());
                bytes += kv.value().length;
            }
            return new Report(kvs.size(), bytes, HexFormat.of().formatHex(md.digest()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Copies every durable key under {@code prefix}. A target that already holds keys there is
     * refused unless {@code force}, which empties it first. Verifies the target afterwards and
     * throws if it differs from the source in any key or value.
     */
    public static Report copy(Store from, Store to, String prefix, boolean force) {
        List<KeyValue> source = durable(from, prefix);
        var existing = to.range(prefix).kvs();
        if (!existing.isEmpty()) {
            if (!force) {
                throw new StoreException("the target already holds " + existing.size() + " keys under " + prefix
                        + "; refusing to overwrite them (use --force to replace them)");
            }
            to.txn(Txn.builder().onSuccess(Op.deletePrefix(prefix)).build());
        }
        for (int i = 0; i < source.size(); i += BATCH) {
            var txn = Txn.builder();
            for (KeyValue kv : source.subList(i, Math.min(source.size(), i + BATCH))) {
                txn.onSuccess(Op.put(kv.key(), kv.value()));
            }
            to.txn(txn.build());
        }
        Report want = summarise(source);
        Report got = summarise(durable(to, prefix));
        if (!want.equals(got)) {
            throw new StoreException("the copy differs from the source: source " + want + ", target " + got);
        }
        return want;
    }
}
