package io.halcyon.store.sqlite;

import io.halcyon.store.KeyValue;
import io.halcyon.store.Prefixes;
import io.halcyon.store.SerialExecutor;
import io.halcyon.store.StoreException;
import io.halcyon.store.Watch;
import io.halcyon.store.WatchEvent;
import io.halcyon.store.WatchListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;

/**
 * The store's watches: which are open, and delivering each committed revision's events to those
 * whose key range they touch, every watch in revision order on its own serial executor, so a slow
 * listener holds up only itself. The store decides what is published and when (under its
 * committer's lock, so a new watch's history and the live revisions after it neither overlap nor
 * leave a gap); this class only fans out.
 */
final class SqliteWatches {
    private static final Logger log = LoggerFactory.getLogger(SqliteWatches.class);
    private final List<SqliteWatch> open = new CopyOnWriteArrayList<>();
    private final ExecutorService delivery;

    SqliteWatches(ExecutorService delivery) {
        this.delivery = delivery;
    }

    /** The events of one revision. */
    record Batch(List<WatchEvent> events) {
    }

    /** A watch on {@code [start, end)} ({@code end} null: to the end), not yet receiving live revisions. */
    SqliteWatch create(byte[] start, byte[] end, WatchListener listener) {
        return new SqliteWatch(start, end, listener, new SerialExecutor(delivery));
    }

    void register(SqliteWatch w) {
        open.add(w);
    }

    void publish(List<Batch> batches) {
        for (Batch b : batches) {
            for (SqliteWatch w : open) {
                w.offer(b);
            }
        }
    }

    void cancelAll() {
        for (SqliteWatch w : open) {
            w.cancelled = true;
        }
        open.clear();
    }

    void shutdown() {
        delivery.shutdown();
    }

    /** The log's revisions from {@code fromRevision} on, within {@code [start, end)}, one batch per revision. */
    static List<Batch> readHistory(Connection conn, byte[] start, byte[] end, long fromRevision) {
        var byRev = new LinkedHashMap<Long, List<WatchEvent>>();
        try (var ps = conn.prepareStatement("SELECT key, value, create_rev, rev, version, lease, type FROM log "
                + "WHERE rev >= ? AND key >= ? AND (? IS NULL OR key < ?) ORDER BY rev, key")) {
            ps.setLong(1, fromRevision);
            ps.setBytes(2, start);
            ps.setBytes(3, end);
            ps.setBytes(4, end);
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    String key = new String(rs.getBytes(1), StandardCharsets.UTF_8);
                    long rev = rs.getLong(4);
                    WatchEvent e = rs.getInt(7) == SqliteStore.PUT
                            ? new WatchEvent(WatchEvent.Type.PUT, new KeyValue(key, rs.getBytes(2), rs.getLong(3), rev, rs.getLong(5), rs.getLong(6)))
                            : new WatchEvent(WatchEvent.Type.DELETE, new KeyValue(key, new byte[0], 0, rev, 0, 0));
                    byRev.computeIfAbsent(rev, r -> new ArrayList<>()).add(e);
                }
            }
        } catch (SQLException e) {
            throw new StoreException("store read failed: " + e.getMessage(), e);
        }
        var batches = new ArrayList<Batch>();
        byRev.values().forEach(events -> batches.add(new Batch(events)));
        return batches;
    }

    final class SqliteWatch implements Watch {
        private final byte[] start;
        private final byte[] end;
        private final WatchListener listener;
        private final SerialExecutor executor;
        private volatile boolean cancelled;

        private SqliteWatch(byte[] start, byte[] end, WatchListener listener, SerialExecutor executor) {
            this.start = start;
            this.end = end;
            this.listener = listener;
            this.executor = executor;
        }

        byte[] end() {
            return end;
        }

        void offer(Batch batch) {
            var mine = new ArrayList<WatchEvent>();
            for (WatchEvent e : batch.events()) {
                byte[] k = Prefixes.bytes(e.kv().key());
                if (java.util.Arrays.compareUnsigned(k, start) >= 0 && (end == null || java.util.Arrays.compareUnsigned(k, end) < 0)) {
                    mine.add(e);
                }
            }
            if (mine.isEmpty()) {
                return;
            }
            executor.execute(() -> {
                if (!cancelled) {
                    try {
                        listener.onEvents(mine);
                    } catch (RuntimeException ex) {
                        log.error("event=watch_listener_failed", ex);
                    }
                }
            });
        }

        void fail(StoreException error) {
            executor.execute(() -> {
                if (!cancelled) {
                    cancelled = true;
                    listener.onError(error);
                }
            });
        }

        @Override
        public void close() {
            cancelled = true;
            open.remove(this);
        }
    }
}
