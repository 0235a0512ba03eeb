package io.halcyon.ovsdb;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Converges the rows of an OVSDB database that carry our key in {@code external_ids} to a desired
 * set, in one transaction: missing rows are inserted, rows whose managed columns differ are
 * updated, and root rows no longer desired are deleted (non-root rows go when their parent stops
 * referencing them). Rows without our key are never touched, except that a parent we manage
 * references only the children we want. Each pass reads everything it compares first, so whatever
 * changed the database meanwhile (a row dropped by hand) is put back.
 */
public final class RowSync {
    public static final String KEY = "halcyon:key";
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    /** A table we manage rows of, and the columns we set (besides {@code external_ids}). */
    public record Table(String name, boolean root, List<String> columns) {
        public Table {
            requireNonNull(name, "name is null");
            columns = List.copyOf(columns);
        }
    }

    public record Result(int inserted, int updated, int deleted) {
        public boolean changed() {
            return inserted + updated + deleted > 0;
        }
    }

    private record Existing(String table, String uuid, JsonNode row) {
    }

    private final OvsdbClient client;
    private final String db;
    private final Map<String, Table> tables = new LinkedHashMap<>();
    private final Duration timeout;

    public RowSync(OvsdbClient client, String db, List<Table> tables, Duration timeout) {
        this.client = requireNonNull(client, "client is null");
        this.db = requireNonNull(db, "db is null");
        tables.forEach(t -> this.tables.put(t.name(), t));
        this.timeout = requireNonNull(timeout, "timeout is null");
    }

    public Result sync(Collection<DesiredRow> desiredRows) {
        var desired = new LinkedHashMap<String, DesiredRow>();
        for (DesiredRow d : desiredRows) {
            if (!tables.containsKey(d.table())) {
                throw new IllegalArgumentException("table " + d.table() + " is not managed");
            }
            if (desired.put(d.key(), d) != null) {
                throw new IllegalArgumentException("two desired rows have the key " + d.key());
            }
        }
        Map<String, Existing> existing = read();
        var extra = new ArrayList<Existing>();
        var ops = new ArrayList<ObjectNode>();
        var names = new HashMap<String, String>();
        var fresh = new ArrayList<DesiredRow>();
        for (DesiredRow d : desired.values()) {
            Existing e = existing.get(d.key());
            if (e == null || !e.table().equals(d.table())) {
                names.put(d.key(), "row" + names.size());
                fresh.add(d);
            }
        }
        int inserted = 0;
        for (DesiredRow d : order(fresh, names.keySet(), desired)) {
            ObjectNode op = F.objectNode();
            op.put("op", "insert");
            op.put("table", d.table());
            op.put("uuid-name", names.get(d.key()));
            ObjectNode row = op.putObject("row");
            d.columns().forEach((c, v) -> row.set(c, encode(v, existing, names)));
            row.set("external_ids", encode(externalIds(d), existing, names));
            ops.add(op);
            inserted++;
        }
        int updated = 0;
        for (DesiredRow d : desired.values()) {
            Existing e = existing.get(d.key());
            if (e == null || names.containsKey(d.key())) {
                continue;
            }
            ObjectNode row = F.objectNode();
            var all = new LinkedHashMap<>(d.columns());
            all.put("external_ids", externalIds(d));
            all.forEach((c, v) -> {
                if (!normalise(e.row().get(c)).equals(normaliseDesired(v, existing))) {
                    row.set(c, encode(v, existing, names));
                }
            });
            if (!row.isEmpty()) {
                ObjectNode op = F.objectNode();
                op.put("op", "update");
                op.put("table", d.table());
                op.set("where", whereUuid(e.uuid()));
                op.set("row", row);
                ops.add(op);
                updated++;
            }
        }
        int deleted = 0;
        for (var en : existing.entrySet()) {
            DesiredRow d = desired.get(en.getKey());
            if (d == null || !d.table().equals(en.getValue().table())) {
                extra.add(en.getValue());
            }
        }
        for (Existing e : extra) {
            if (tables.get(e.table()).root()) {
                ObjectNode op = F.objectNode();
                op.put("op", "delete");
                op.put("table", e.table());
                op.set("where", whereUuid(e.uuid()));
                ops.add(op);
            }
            deleted++;
        }
        if (ops.isEmpty()) {
            return new Result(0, 0, 0);
        }
        client.transact(db, ops, timeout);
        return new Result(inserted, updated, deleted);
    }

    /** Every row of the managed tables that carries our key, by key (one consistent read). */
    private Map<String, Existing> read() {
        var ops = new ArrayList<ObjectNode>();
        var order = new ArrayList<Table>(tables.values());
        for (Table t : order) {
            ObjectNode op = F.objectNode();
            op.put("op", "select");
            op.put("table", t.name());
            op.putArray("where");
            ArrayNode cols = op.putArray("columns");
            cols.add("_uuid");
            cols.add("external_ids");
            t.columns().forEach(cols::add);
            ops.add(op);
        }
        ArrayNode results = client.transact(db, ops, timeout);
        var out = new LinkedHashMap<String, Existing>();
        var dupes = new ArrayList<Existing>();
        for (int i = 0; i < order.size(); i++) {
            for (JsonNode row : results.get(i).path("rows")) {
                String key = keyOf(row);
                if (key == null) {
                    continue;
                }
                var e = new Existing(order.get(i).name(), row.path("_uuid").get(1).asText(), row);
                if (out.putIfAbsent(key, e) != null) {
                    dupes.add(e);
                }
            }
        }
        // a duplicate keeps a key nobody else has, so it is deleted like any row no longer wanted
        for (Existing d : dupes) {
            out.put(keyOf(d.row()) + "#dup-" + d.uuid(), d);
        }
        return out;
    }

    private static String keyOf(JsonNode row) {
        Object ids = normalise(row.get("external_ids"));
        return ids instanceof Map<?, ?> m && m.get(KEY) != null ? m.get(KEY).toString() : null;
    }

    private static Map<String, String> externalIds(DesiredRow d) {
        var ids = new TreeMap<String, String>();
        Object given = d.columns().get("external_ids");
        if (given instanceof Map<?, ?> m) {
            m.forEach((k, v) -> ids.put(k.toString(), v.toString()));
        }
        ids.put(KEY, d.key());
        return ids;
    }

    /** New rows in an order where each comes after the new rows it references. */
    private static List<DesiredRow> order(List<DesiredRow> fresh, Set<String> freshKeys, Map<String, DesiredRow> desired) {
        var out = new ArrayList<DesiredRow>();
        var done = new HashSet<String>();
        var visiting = new HashSet<String>();
        for (DesiredRow d : fresh) {
            visit(d, freshKeys, desired, done, visiting, out);
        }
        return out;
    }

    private static void visit(DesiredRow d, Set<String> freshKeys, Map<String, DesiredRow> desired, Set<String> done,
                              Set<String> visiting, List<DesiredRow> out) {
        if (done.contains(d.key())) {
            return;
        }
        if (!visiting.add(d.key())) {
            throw new IllegalArgumentException("reference cycle through " + d.key());
        }
        for (Object v : d.columns().values()) {
            if (v instanceof List<?> list) {
                for (Object a : list) {
                    if (a instanceof DesiredRow.Ref r && freshKeys.contains(r.key())) {
                        visit(desired.get(r.key()), freshKeys, desired, done, visiting, out);
                    }
                }
            }
        }
        visiting.remove(d.key());
        done.add(d.key());
        out.add(d);
    }

    private static ArrayNode whereUuid(String uuid) {
        ArrayNode where = F.arrayNode();
        ArrayNode cond = where.addArray();
        cond.add("_uuid");
        cond.add("==");
        cond.addArray().add("uuid").add(uuid);
        return where;
    }

    private JsonNode encode(Object value, Map<String, Existing> existing, Map<String, String> names) {
        if (value instanceof Map<?, ?> m) {
            ArrayNode node = F.arrayNode().add("map");
            ArrayNode pairs = node.addArray();
            m.forEach((k, v) -> pairs.addArray().add(k.toString()).add(v.toString()));
            return node;
        }
        List<?> list = (List<?>) value;
        if (list.size() == 1) {
            return atom(list.get(0), existing, names);
        }
        ArrayNode node = F.arrayNode().add("set");
        ArrayNode items = node.addArray();
        list.forEach(a -> items.add(atom(a, existing, names)));
        return node;
    }

    private JsonNode atom(Object a, Map<String, Existing> existing, Map<String, String> names) {
        if (a instanceof String s) {
            return F.textNode(s);
        }
        if (a instanceof Long l) {
            return F.numberNode(l);
        }
        if (a instanceof Integer i) {
            return F.numberNode(i.longValue());
        }
        if (a instanceof Boolean b) {
            return F.booleanNode(b);
        }
        if (a instanceof DesiredRow.Ref r) {
            if (names.containsKey(r.key())) {
                return F.arrayNode().add("named-uuid").add(names.get(r.key()));
            }
            Existing e = existing.get(r.key());
            if (e == null) {
                throw new IllegalStateException("reference to " + r.key() + ", which is neither desired nor present");
            }
            return F.arrayNode().add("uuid").add(e.uuid());
        }
        throw new IllegalArgumentException("cannot encode " + a);
    }

    /** An OVSDB value as a comparable Java value: a sorted list of atoms, or a sorted string map. */
    static Object normalise(JsonNode v) {
        if (v == null || v.isMissingNode() || v.isNull()) {
            return List.of();
        }
        if (v.isArray() && v.size() == 2 && v.get(0).isTextual()) {
            switch (v.get(0).asText()) {
                case "set" -> {
                    var out = new ArrayList<Object>();
                    v.get(1).forEach(a -> out.add(normaliseAtom(a)));
                    out.sort(Comparator.comparing(String::valueOf));
                    return out;
                }
                case "map" -> {
                    var m = new TreeMap<String, String>();
                    v.get(1).forEach(p -> m.put(p.get(0).asText(), p.get(1).asText()));
                    return m;
                }
                default -> {
                    return List.of(normaliseAtom(v));
                }
            }
        }
        return List.of(normaliseAtom(v));
    }

    private static Object normaliseAtom(JsonNode a) {
        if (a.isArray() && a.size() == 2 && "uuid".equals(a.get(0).asText())) {
            return "uuid:" + a.get(1).asText();
        }
        if (a.isIntegralNumber()) {
            return a.asLong();
        }
        if (a.isBoolean()) {
            return a.asBoolean();
        }
        return a.asText();
    }

    private static Object normaliseDesired(Object value, Map<String, Existing> existing) {
        if (value instanceof Map<?, ?> m) {
            var out = new TreeMap<String, String>();
            m.forEach((k, v) -> out.put(k.toString(), v.toString()));
            return out;
        }
        var out = new ArrayList<Object>();
        for (Object a : (List<?>) value) {
            if (a instanceof DesiredRow.Ref r) {
                Existing e = existing.get(r.key());
                out.add(e == null ? "new:" + r.key() : "uuid:" + e.uuid());
            } else if (a instanceof Integer i) {
                out.add(i.longValue());
            } else {
                out.add(a);
            }
        }
        out.sort(Comparator.comparing(String::valueOf));
        return out;
    }
}
