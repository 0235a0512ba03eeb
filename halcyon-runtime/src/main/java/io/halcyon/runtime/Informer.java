package io.halcyon.runtime;

import io.halcyon.store.KeyValue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import static java.util.Objects.requireNonNull;

/**
 * The in-memory copy of one kind, kept current by its {@link Cache}'s single watch. Reads are
 * lock-free and may run on any thread; changes are applied, and handlers called, on the cache's
 * delivery thread in revision order. Indexes map a derived value (a project id, a host name) to
 * the ids of the records that have it.
 */
public final class Informer<T> {
    private static final Logger log = LoggerFactory.getLogger(Informer.class);

    /** Called after each change; {@code now} is null for a deletion, {@code old} null for a creation. */
    public interface Handler<T> {
        void onChange(String id, Versioned<T> old, Versioned<T> now);
    }

    private final Kind<T> kind;
    private final Repository<T> repository;
    private final Map<String, Versioned<T>> items = new ConcurrentHashMap<>();
    private final Map<String, Function<T, Collection<String>>> indexers = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Set<String>>> indexes = new ConcurrentHashMap<>();
    private final List<Handler<T>> handlers = new CopyOnWriteArrayList<>();

    Informer(Kind<T> kind, Repository<T> repository) {
        this.kind = requireNonNull(kind, "kind is null");
        this.repository = requireNonNull(repository, "repository is null");
    }

    public Kind<T> kind() {
        return kind;
    }

    public void addIndex(String name, Function<T, Collection<String>> indexer) {
        indexers.put(name, indexer);
        var index = new ConcurrentHashMap<String, Set<String>>();
        indexes.put(name, index);
        for (var e : items.entrySet()) {
            for (String v : indexer.apply(e.getValue().value())) {
                index.computeIfAbsent(v, x -> ConcurrentHashMap.newKeySet()).add(e.getKey());
            }
        }
    }

    public void addHandler(Handler<T> handler) {
        handlers.add(handler);
    }

    public Optional<Versioned<T>> get(String id) {
        return Optional.ofNullable(items.get(id));
    }

    public List<Versioned<T>> list() {
        return new ArrayList<>(items.values());
    }

    public int size() {
        return items.size();
    }

    public List<Versioned<T>> byIndex(String index, String value) {
        var idx = indexes.get(index);
        if (idx == null) {
            throw new IllegalArgumentException("no index " + index + " on " + kind.name());
        }
        var ids = idx.get(value);
        if (ids == null) {
            return List.of();
        }
        var out = new ArrayList<Versioned<T>>(ids.size());
        for (String id : ids) {
            var v = items.get(id);
            if (v != null) {
                out.add(v);
            }
        }
        return out;
    }

    void applyPut(String id, KeyValue kv) {
        Versioned<T> now;
        try {
            now = repository.decode(kv);
        } catch (RuntimeException e) {
            log.error("event=informer_decode_failed kind={} id={} error={}", kind.name(), id, e.getMessage());
            return;
        }
        Versioned<T> old = items.put(id, now);
        reindex(id, old, now);
        fire(id, old, now);
    }

    void applyDelete(String id) {
        Versioned<T> old = items.remove(id);
        if (old != null) {
            reindex(id, old, null);
            fire(id, old, null);
        }
    }

    /** Replaces the whole content after a relist, firing handlers for every difference. */
    void replaceAll(Map<String, KeyValue> fresh) {
        for (String id : List.copyOf(items.keySet())) {
            if (!fresh.containsKey(id)) {
                applyDelete(id);
            }
        }
        for (var e : fresh.entrySet()) {
            var cur = items.get(e.getKey());
            if (cur == null || cur.revision() != e.getValue().modRevision()) {
                applyPut(e.getKey(), e.getValue());
            }
        }
    }

    private void reindex(String id, Versioned<T> old, Versioned<T> now) {
        for (var e : indexers.entrySet()) {
            var index = indexes.get(e.getKey());
            if (old != null) {
                for (String v : e.getValue().apply(old.value())) {
                    var set = index.get(v);
                    if (set != null) {
                        set.remove(id);
                        if (set.isEmpty()) {
                            index.remove(v, set);
                        }
                    }
                }
            }
            if (now != null) {
                for (String v : e.getValue().apply(now.value())) {
                    index.computeIfAbsent(v, x -> ConcurrentHashMap.newKeySet()).add(id);
                }
            }
        }
    }

    private void fire(String id, Versioned<T> old, Versioned<T> now) {
        for (Handler<T> h : handlers) {
            try {
                h.onChange(id, old, now);
            } catch (RuntimeException e) {
                log.error("event=informer_handler_failed kind={} id={}", kind.name(), id, e);
            }
        }
    }
}
