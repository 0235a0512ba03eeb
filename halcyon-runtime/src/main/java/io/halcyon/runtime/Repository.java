package io.halcyon.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.halcyon.store.Compare;
import io.halcyon.store.KeyValue;
import io.halcyon.store.Op;
import io.halcyon.store.Store;
import io.halcyon.store.Txn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

import static java.util.Objects.requireNonNull;

/**
 * Typed access to one {@link Kind} with optimistic concurrency: every update and delete names the
 * revision it was based on and fails with {@link ConflictException} if the record moved on.
 * Reads here go to the store; hot paths read from an {@link Informer} instead.
 */
public final class Repository<T> {
    private final Store store;
    private final Kind<T> kind;
    private final ObjectMapper json;

    public Repository(Store store, Kind<T> kind) {
        this.store = requireNonNull(store, "store is null");
        this.kind = requireNonNull(kind, "kind is null");
        this.json = Json.mapper();
    }

    public Kind<T> kind() {
        return kind;
    }

    public Store store() {
        return store;
    }

    public byte[] encode(T value) {
        try {
            return json.writeValueAsBytes(value);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + kind.name(), e);
        }
    }

    public T decode(byte[] bytes) {
        try {
            return json.readValue(bytes, kind.type());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot decode " + kind.name(), e);
        }
    }

    public Versioned<T> decode(KeyValue kv) {
        return new Versioned<>(decode(kv.value()), kv.modRevision());
    }

    public Optional<Versioned<T>> get(String id) {
        return store.get(kind.key(id)).map(this::decode);
    }

    public List<Versioned<T>> list() {
        var out = new ArrayList<Versioned<T>>();
        for (KeyValue kv : store.range(kind.prefix()).kvs()) {
            out.add(decode(kv));
        }
        return out;
    }

    /** Creates the record; fails with {@link ConflictException} if its id is taken. Returns its revision. */
    public long create(T value) {
        var r = store.txn(Txn.builder().when(Compare.absent(kind.key(value))).onSuccess(put(value)).build());
        if (!r.succeeded()) {
            throw new ConflictException(kind.name() + " " + kind.idOf().apply(value) + " already exists");
        }
        return r.revision();
    }

    public long update(T value, long expectedRevision) {
        var r = store.txn(Txn.builder().when(Compare.modRevision(kind.key(value), expectedRevision)).onSuccess(put(value)).build());
        if (!r.succeeded()) {
            throw new ConflictException(kind.name() + " " + kind.idOf().apply(value) + " changed concurrently");
        }
        return r.revision();
    }

    public long delete(String id, long expectedRevision) {
        var r = store.txn(Txn.builder().when(Compare.modRevision(kind.key(id), expectedRevision)).onSuccess(Op.delete(kind.key(id))).build());
        if (!r.succeeded()) {
            throw new ConflictException(kind.name() + " " + id + " changed concurrently");
        }
        return r.revision();
    }

    /**
     * Reads, transforms and writes back until the write wins. Returns empty if the record does not
     * exist. {@code fn} may run several times and must be pure.
     */
    public Optional<Versioned<T>> modify(String id, UnaryOperator<T> fn) {
        for (int attempt = 0; attempt < 100; attempt++) {
            var cur = get(id);
            if (cur.isEmpty()) {
                return Optional.empty();
            }
            T next = fn.apply(cur.get().value());
            if (next == cur.get().value()) {
                return cur;
            }
            try {
                return Optional.of(new Versioned<>(next, update(next, cur.get().revision())));
            } catch (ConflictException e) {
                Thread.onSpinWait();
            }
        }
        throw new ConflictException(kind.name() + " " + id + " kept changing; gave up after 100 attempts");
    }

    public Op put(T value) {
        return Op.put(kind.key(value), encode(value));
    }

    public Op deleteOp(String id) {
        return Op.delete(kind.key(id));
    }

    public Compare unchanged(String id, long revision) {
        return Compare.modRevision(kind.key(id), revision);
    }

    public Compare absent(String id) {
        return Compare.absent(kind.key(id));
    }
}
