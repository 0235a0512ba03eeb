package io.halcyon.ovsdb;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * A row as the cloud wants it: its table, a stable key (kept in {@code external_ids} so the row is
 * found again and recognised as ours), and the columns it manages. Every column is a set (a scalar
 * is a set of one, an absent optional value the empty set), a string map, or references to other
 * desired rows by key, which {@link RowSync} turns into UUIDs.
 */
public final class DesiredRow {
    /** A reference to another desired row, by its key. */
    public record Ref(String key) {
        public Ref {
            requireNonNull(key, "key is null");
        }
    }

    private final String table;
    private final String key;
    private final Map<String, Object> columns = new LinkedHashMap<>();

    public DesiredRow(String table, String key) {
        this.table = requireNonNull(table, "table is null");
        this.key = requireNonNull(key, "key is null");
    }

    public String table() {
        return table;
    }

    public String key() {
        return key;
    }

    /** Column name to value: a {@code List} of atoms (String, Long, Boolean, {@link Ref}) or a {@code Map<String, String>}. */
    public Map<String, Object> columns() {
        return columns;
    }

    public DesiredRow str(String column, String value) {
        columns.put(column, value == null ? List.of() : List.of(value));
        return this;
    }

    public DesiredRow integer(String column, Long value) {
        columns.put(column, value == null ? List.of() : List.of(value));
        return this;
    }

    public DesiredRow bool(String column, Boolean value) {
        columns.put(column, value == null ? List.of() : List.of(value));
        return this;
    }

    public DesiredRow strings(String column, Collection<String> values) {
        columns.put(column, new ArrayList<Object>(values));
        return this;
    }

    public DesiredRow map(String column, Map<String, String> values) {
        columns.put(column, new TreeMap<>(values));
        return this;
    }

    public DesiredRow ref(String column, String targetKey) {
        columns.put(column, targetKey == null ? List.of() : List.of(new Ref(targetKey)));
        return this;
    }

    public DesiredRow refs(String column, Collection<String> targetKeys) {
        var list = new ArrayList<Object>();
        targetKeys.forEach(k -> list.add(new Ref(k)));
        columns.put(column, list);
        return this;
    }

    @Override
    public String toString() {
        return table + "[" + key + "]" + columns;
    }
}
