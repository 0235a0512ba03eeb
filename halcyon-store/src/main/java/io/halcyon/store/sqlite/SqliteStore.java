package io.halcyon.store.sqlite;

import io.halcyon.store.CompactedException;
import io.halcyon.store.Compare;
import io.halcyon.store.KeyValue;
import io.halcyon.store.LeaseNotFoundException;
import io.halcyon.store.Op;
import io.halcyon.store.Prefixes;
import io.halcyon.store.RangeResult;
import io.halcyon.store.Store;
import io.halcyon.store.StoreException;
import io.halcyon.store.StoreLockedException;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import io.halcyon.store.Watch;
import io.halcyon.store.WatchEvent;
import io.halcyon.store.WatchListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import static java.util.Objects.requireNonNull;

/**
 * The embedded store: one SQLite file in WAL mode with a full fsync on every commit, owned by one
 * process through an exclusive lock on a side file. The {@code log} table is the MVCC history (one
 * row per key change, etcd's revision semantics); {@code kv} holds the latest value of each key.
 * Compaction drops history below a revision but keeps, for every key, its newest change at or
 * below it, so reads at any revision from the compaction point on stay exact.
 *
 * <p>Writes go through one committer thread that applies every transaction waiting in its queue
 * inside one SQLite transaction (each with its own savepoint and revision, in queue order) and
 * commits them with one fsync: group commit, so concurrent writers share the cost of durability.
 * A transaction's caller returns only after that commit. Reads use a small pool of separate
 * connections and never wait for the writer (WAL). Lease deadlines live in memory on the
 * monotonic clock; after a restart every lease gets its full TTL again, as etcd does after a
 * leader change.
 */
public final class SqliteStore implements Store {
    private static final Logger log = LoggerFactory.getLogger(SqliteStore.class);
    /** The log's record types. */
    static final int PUT = 0;
    private static final int DELETE = 1;
    private static final int READERS = 4;
    private static final int MAX_BATCH = 256;

    /** A unit of work for the committer: a transaction, or store maintenance run in its turn. */
    private static final class Request {
        final Txn txn;
        final SqlSupplier<Object> maintenance;
        final java.util.concurrent.CompletableFuture<Object> result = new java.util.concurrent.CompletableFuture<>();

        Request(Txn txn, SqlSupplier<Object> maintenance) {
            this.txn = txn;
            this.maintenance = maintenance;
        }
    }

    private static final Request POISON = new Request(null, null);

    private final Path path;
    private final FileChannel lockChannel;
    private final FileLock fileLock;
    private final Connection conn;
    private final java.util.concurrent.BlockingQueue<Connection> readers = new java.util.concurrent.ArrayBlockingQueue<>(READERS);
    private final java.util.concurrent.BlockingQueue<Request> queue = new java.util.concurrent.LinkedBlockingQueue<>();
    private final Thread committer;
    private final ReentrantLock mutex = new ReentrantLock();
    private final Map<Long, LeaseState> leases = new java.util.concurrent.ConcurrentHashMap<>();
    private final SqliteWatches watches;
    private final ScheduledExecutorService leaseReaper;
    private final SecureRandom random = new SecureRandom();
    private final long autoCompactRetention;
    private volatile long revision;
    private volatile long compactRevision;
    private long writesSinceCompaction;
    private volatile boolean closed;

    private static final class LeaseState {
        final long ttlNanos;
        volatile long deadlineNanos;

        LeaseState(long ttlNanos, long deadlineNanos) {
            this.ttlNanos = ttlNanos;
            this.deadlineNanos = deadlineNanos;
        }
    }

    /**
     * Opens (creating if needed) the store at {@code path}. {@code autoCompactRetention} > 0 keeps
     * roughly that many revisions of history and compacts the rest as writes go by.
     */
    public static SqliteStore open(Path path, long autoCompactRetention) {
        return new SqliteStore(path, autoCompactRetention);
    }

    public static SqliteStore open(Path path) {
        return open(path, 100_000);
    }

    private SqliteStore(Path path, long autoCompactRetention) {
        this.path = requireNonNull(path, "path is null").toAbsolutePath();
        this.autoCompactRetention = autoCompactRetention;
        try {
            Files.createDirectories(this.path.getParent());
        } catch (IOException e) {
            throw new StoreException("cannot create directory for store " + this.path + ": " + e.getMessage(), e);
        }
        Path lockPath = this.path.resolveSibling(this.path.getFileName() + ".lock");
        FileChannel channel = null;
        FileLock acquired = null;
        try {
            channel = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                acquired = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                acquired = null;
            }
            if (acquired == null) {
                String holder = readHolder(channel);
                channel.close();
                throw new StoreLockedException("store " + this.path + " is in use by another process" + holder
                        + "; the sqlite store serves exactly one controller (use the etcd store for several)");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            channel.force(true);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new StoreException("cannot lock store " + this.path + ": " + e.getMessage(), e);
        }
        this.lockChannel = channel;
        this.fileLock = acquired;
        try {
            var config = new SQLiteConfig();
            config.setJournalMode(SQLiteConfig.JournalMode.WAL);
            config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
            config.setBusyTimeout(5000);
            this.conn = config.createConnection("jdbc:sqlite:" + this.path);
            initSchema();
            for (int i = 0; i < READERS; i++) {
                var rc = new SQLiteConfig();
                rc.setBusyTimeout(5000);
                rc.setReadOnly(true);
                Connection reader = rc.createConnection("jdbc:sqlite:" + this.path);
                reader.setAutoCommit(false);
                readers.add(reader);
            }
        } catch (SQLException e) {
            for (Connection r : readers) {
                try {
                    r.close();
                } catch (SQLException ignored) {
                    // closing what was opened
                }
            }
            releaseLock();
            throw new StoreException("cannot open store " + this.path + ": " + e.getMessage(), e);
        }
        this.leaseReaper = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "store-lease-reaper"));
        this.watches = new SqliteWatches(Executors.newCachedThreadPool(r -> daemon(r, "store-watch")));
        this.committer = daemon(this::commitLoop, "store-committer");
        committer.start();
        leaseReaper.scheduleWithFixedDelay(this::expireLeases, 50, 50, TimeUnit.MILLISECONDS);
        log.info("event=store_opened backend=sqlite path={} revision={} compact_revision={} leases={}",
                this.path, revision, compactRevision, leases.size());
    }

    private static Thread daemon(Runnable r, String name) {
        var t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static String readHolder(FileChannel channel) {
        try {
            var buf = ByteBuffer.allocate(32);
            int n = channel.read(buf, 0);
            if (n > 0) {
                String pid = new String(buf.array(), 0, n, StandardCharsets.US_ASCII).trim();
                if (!pid.isEmpty()) {
                    return " (pid " + pid + ")";
                }
            }
        } catch (IOException ignored) {
            // the pid is only a hint in the message
        }
        return "";
    }

    private void initSchema() throws SQLException {
        try (var st = conn.createStatement()) {
            st.executeUpdate("CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL, "
                    + "create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL, version INTEGER NOT NULL, "
                    + "lease INTEGER NOT NULL) WITHOUT ROWID");
            st.executeUpdate("CREATE TABLE IF NOT EXISTS log (rev INTEGER NOT NULL, key BLOB NOT NULL, "
                    + "type INTEGER NOT NULL, value BLOB, create_rev INTEGER NOT NULL, version INTEGER NOT NULL, "
                    + "lease INTEGER NOT NULL, PRIMARY KEY (rev, key)) WITHOUT ROWID");
            st.executeUpdate("CREATE INDEX IF NOT EXISTS log_by_key ON log (key, rev)");
            st.executeUpdate("CREATE INDEX IF NOT EXISTS kv_by_lease ON kv (lease) WHERE lease <> 0");
            st.executeUpdate("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
            st.executeUpdate("CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY, ttl_ms INTEGER NOT NULL)");
            st.executeUpdate("INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 1), ('compact_revision', 0)");
        }
        try (var st = conn.createStatement(); var rs = st.executeQuery("SELECT name, value FROM meta")) {
            while (rs.next()) {
                switch (rs.getString(1)) {
                    case "revision" -> revision = rs.getLong(2);
                    case "compact_revision" -> compactRevision = rs.getLong(2);
                    default -> { }
                }
            }
        }
        long now = System.nanoTime();
        try (var st = conn.createStatement(); var rs = st.executeQuery("SELECT id, ttl_ms FROM lease")) {
            while (rs.next()) {
                long ttl = TimeUnit.MILLISECONDS.toNanos(rs.getLong(2));
                leases.put(rs.getLong(1), new LeaseState(ttl, now + ttl));
            }
        }
        conn.setAutoCommit(false);
        conn.commit();
    }

    public Path path() {
        return path;
    }

    @Override
    public Optional<KeyValue> get(String key) {
        requireNonNull(key, "key is null");
        return read(c -> Optional.ofNullable(readCurrent(c, Prefixes.bytes(key))));
    }

    @Override
    public RangeResult range(String prefix) {
        return range(prefix, 0);
    }

    @Override
    public RangeResult range(String prefix, long atRevision) {
        requireNonNull(prefix, "prefix is null");
        return read(c -> {
            long current = meta(c, "revision");
            byte[] start = Prefixes.bytes(prefix);
            byte[] end = Prefixes.rangeEnd(start);
            if (atRevision <= 0 || atRevision >= current) {
                var kvs = new ArrayList<KeyValue>();
                try (var ps = c.prepareStatement("SELECT key, value, create_rev, mod_rev, version, lease FROM kv "
                        + "WHERE key >= ? AND (? IS NULL OR key < ?) ORDER BY key")) {
                    ps.setBytes(1, start);
                    ps.setBytes(2, end);
                    ps.setBytes(3, end);
                    try (var rs = ps.executeQuery()) {
                        while (rs.next()) {
                            kvs.add(kvFrom(rs));
                        }
                    }
                }
                return new RangeResult(kvs, current);
            }
            long compacted = meta(c, "compact_revision");
            if (atRevision < compacted) {
                throw new CompactedException(atRevision, compacted);
            }
            var kvs = new ArrayList<KeyValue>();
            try (var ps = c.prepareStatement("SELECT l.key, l.value, l.create_rev, l.rev, l.version, l.lease, l.type "
                    + "FROM log l JOIN (SELECT key, MAX(rev) AS r FROM log WHERE key >= ? AND (? IS NULL OR key < ?) "
                    + "AND rev <= ? GROUP BY key) m ON l.key = m.key AND l.rev = m.r ORDER BY l.key")) {
                ps.setBytes(1, start);
                ps.setBytes(2, end);
                ps.setBytes(3, end);
                ps.setLong(4, atRevision);
                try (var rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (rs.getInt(7) == PUT) {
                            kvs.add(kvFrom(rs));
                        }
                    }
                }
            }
            return new RangeResult(kvs, atRevision);
        });
    }

    private static long meta(Connection c, String name) throws SQLException {
        try (var ps = c.prepareStatement("SELECT value FROM meta WHERE name = ?")) {
            ps.setString(1, name);
            try (var rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }

    /** Runs a read on a pooled read connection, in one read transaction (a consistent snapshot). */
    private <T> T read(SqlFunction<T> body) {
        ensureOpen();
        Connection c;
        try {
            c = readers.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("interrupted waiting for a store connection", e);
        }
        try {
            T out = body.apply(c);
            c.commit();
            return out;
        } catch (SQLException e) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the read changed nothing
            }
            throw new StoreException("store read failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the read changed nothing
            }
            throw e;
        } finally {
            readers.add(c);
        }
    }

    private interface SqlFunction<T> {
        T apply(Connection c) throws SQLException;
    }

    @Override
    public TxnResult txn(Txn txn) {
        requireNonNull(txn, "txn is null");
        checkNoDuplicateWrites(txn.onSuccess());
        checkNoDuplicateWrites(txn.onFailure());
        return (TxnResult) submit(new Request(txn, null));
    }

    private Object submit(Request r) {
        ensureOpen();
        queue.add(r);
        try {
            return r.result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("interrupted waiting for the store", e);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof StoreException se) {
                throw se;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new StoreException("store write failed: " + cause.getMessage(), cause);
        }
    }

    private void commitLoop() {
        var batch = new ArrayList<Request>();
        while (true) {
            Request first;
            try {
                first = queue.take();
            } catch (InterruptedException e) {
                break;
            }
            batch.clear();
            batch.add(first);
            queue.drainTo(batch, MAX_BATCH - 1);
            boolean stop = batch.remove(POISON);
            mutex.lock();
            try {
                process(batch);
            } catch (RuntimeException e) {
                log.error("event=store_commit_loop_error", e);
                batch.forEach(r -> r.result.completeExceptionally(e));
            } finally {
                mutex.unlock();
            }
            if (stop) {
                break;
            }
        }
        var closedError = new StoreException("store " + path + " is closed");
        for (Request r; (r = queue.poll()) != null; ) {
            r.result.completeExceptionally(closedError);
        }
    }

    /** Applies consecutive transactions as one commit; maintenance requests commit on their own, in order. */
    private void process(List<Request> batch) {
        var group = new ArrayList<Request>();
        for (Request r : batch) {
            if (r.maintenance == null) {
                group.add(r);
                continue;
            }
            commitGroup(group);
            group.clear();
            try {
                r.result.complete(r.maintenance.get());
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly();
                r.result.completeExceptionally(e instanceof StoreException ? e : new StoreException("store write failed: " + e.getMessage(), e));
            }
        }
        commitGroup(group);
    }

    private void commitGroup(List<Request> group) {
        if (group.isEmpty()) {
            return;
        }
        long rev = revision;
        var outcomes = new Object[group.size()];
        var batches = new ArrayList<SqliteWatches.Batch>();
        for (int i = 0; i < group.size(); i++) {
            Txn txn = group.get(i).txn;
            java.sql.Savepoint sp = null;
            try {
                sp = conn.setSavepoint();
                boolean ok = true;
                for (Compare c : txn.compares()) {
                    if (!c.holds(readCurrent(conn, Prefixes.bytes(c.key())))) {
                        ok = false;
                        break;
                    }
                }
                long newRev = rev + 1;
                var events = new ArrayList<WatchEvent>();
                var reads = new ArrayList<Optional<KeyValue>>();
                for (Op op : ok ? txn.onSuccess() : txn.onFailure()) {
                    apply(op, newRev, events, reads);
                }
                conn.releaseSavepoint(sp);
                if (!events.isEmpty()) {
                    rev = newRev;
                    batches.add(new SqliteWatches.Batch(events));
                }
                outcomes[i] = new TxnResult(ok, rev, reads);
            } catch (SQLException | RuntimeException e) {
                try {
                    if (sp != null) {
                        conn.rollback(sp);
                    }
                } catch (SQLException re) {
                    log.error("event=store_savepoint_rollback_failed error={}", re.getMessage());
                }
                outcomes[i] = e instanceof StoreException ? e : new StoreException("store write failed: " + e.getMessage(), e);
            }
        }
        try {
            if (rev != revision) {
                setMeta("revision", rev);
            }
            conn.commit();
        } catch (SQLException e) {
            rollbackQuietly();
            var failure = new StoreException("store commit failed: " + e.getMessage(), e);
            group.forEach(r -> r.result.completeExceptionally(failure));
            return;
        }
        revision = rev;
        writesSinceCompaction += batches.size();
        watches.publish(batches);
        for (int i = 0; i < group.size(); i++) {
            if (outcomes[i] instanceof TxnResult tr) {
                group.get(i).result.complete(tr);
            } else {
                group.get(i).result.completeExceptionally((Throwable) outcomes[i]);
            }
        }
        try {
            maybeAutoCompact();
        } catch (RuntimeException e) {
            log.warn("event=store_autocompact_failed error=\"{}\"", e.getMessage());
        }
    }

    private static void checkNoDuplicateWrites(List<Op> ops) {
        var seen = new HashSet<String>();
        for (Op op : ops) {
            if (!(op instanceof Op.Get) && !seen.add(op.key())) {
                throw new IllegalArgumentException("duplicate key in one transaction branch: " + op.key());
            }
        }
    }

    private void apply(Op op, long newRev, List<WatchEvent> events, List<Optional<KeyValue>> reads) throws SQLException {
        if (op instanceof Op.Get g) {
            reads.add(Optional.ofNullable(readCurrent(conn, Prefixes.bytes(g.key()))));
        } else if (op instanceof Op.Put p) {
            if (p.lease() != 0 && !leases.containsKey(p.lease())) {
                throw new LeaseNotFoundException(p.lease());
            }
            byte[] key = Prefixes.bytes(p.key());
            KeyValue cur = readCurrent(conn, key);
            long create = cur == null ? newRev : cur.createRevision();
            long version = cur == null ? 1 : cur.version() + 1;
            try (var ps = conn.prepareStatement("INSERT OR REPLACE INTO kv (key, value, create_rev, mod_rev, version, lease) "
                    + "VALUES (?, ?, ?, ?, ?, ?)")) {
                ps.setBytes(1, key);
                ps.setBytes(2, p.value());
                ps.setLong(3, create);
                ps.setLong(4, newRev);
                ps.setLong(5, version);
                ps.setLong(6, p.lease());
                ps.executeUpdate();
            }
            appendLog(newRev, key, PUT, p.value(), create, version, p.lease());
            events.add(new WatchEvent(WatchEvent.Type.PUT, new KeyValue(p.key(), p.value(), create, newRev, version, p.lease())));
        } else if (op instanceof Op.Delete d) {
            if (d.prefix()) {
                byte[] start = Prefixes.bytes(d.key());
                byte[] end = Prefixes.rangeEnd(start);
                var keys = new ArrayList<byte[]>();
                try (var ps = conn.prepareStatement("SELECT key FROM kv WHERE key >= ? AND (? IS NULL OR key < ?) ORDER BY key")) {
                    ps.setBytes(1, start);
                    ps.setBytes(2, end);
                    ps.setBytes(3, end);
                    try (var rs = ps.executeQuery()) {
                        while (rs.next()) {
                            keys.add(rs.getBytes(1));
                        }
                    }
                }
                for (byte[] k : keys) {
                    deleteKey(k, newRev, events);
                }
            } else {
                deleteKey(Prefixes.bytes(d.key()), newRev, events);
            }
        }
    }

    private void deleteKey(byte[] key, long newRev, List<WatchEvent> events) throws SQLException {
        try (var ps = conn.prepareStatement("DELETE FROM kv WHERE key = ?")) {
            ps.setBytes(1, key);
            if (ps.executeUpdate() == 0) {
                return;
            }
        }
        appendLog(newRev, key, DELETE, null, 0, 0, 0);
        events.add(new WatchEvent(WatchEvent.Type.DELETE,
                new KeyValue(new String(key, StandardCharsets.UTF_8), new byte[0], 0, newRev, 0, 0)));
    }

    private void appendLog(long rev, byte[] key, int type, byte[] value, long create, long version, long lease) throws SQLException {
        try (var ps = conn.prepareStatement("INSERT INTO log (rev, key, type, value, create_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            ps.setLong(1, rev);
            ps.setBytes(2, key);
            ps.setInt(3, type);
            ps.setBytes(4, value);
            ps.setLong(5, create);
            ps.setLong(6, version);
            ps.setLong(7, lease);
            ps.executeUpdate();
        }
    }

    private void setMeta(String name, long value) throws SQLException {
        try (var ps = conn.prepareStatement("UPDATE meta SET value = ? WHERE name = ?")) {
            ps.setLong(1, value);
            ps.setString(2, name);
            ps.executeUpdate();
        }
    }

    private static KeyValue readCurrent(Connection c, byte[] key) {
        try (var ps = c.prepareStatement("SELECT key, value, create_rev, mod_rev, version, lease FROM kv WHERE key = ?")) {
            ps.setBytes(1, key);
            try (var rs = ps.executeQuery()) {
                return rs.next() ? kvFrom(rs) : null;
            }
        } catch (SQLException e) {
            throw new StoreException("store read failed: " + e.getMessage(), e);
        }
    }

    private static KeyValue kvFrom(ResultSet rs) throws SQLException {
        return new KeyValue(new String(rs.getBytes(1), StandardCharsets.UTF_8), rs.getBytes(2), rs.getLong(3),
                rs.getLong(4), rs.getLong(5), rs.getLong(6));
    }

    @Override
    public Watch watch(String prefix, long fromRevision, WatchListener listener) {
        requireNonNull(prefix, "prefix is null");
        requireNonNull(listener, "listener is null");
        byte[] start = Prefixes.bytes(prefix);
        var w = watches.create(start, Prefixes.rangeEnd(start), listener);
        // under the committer's lock: no revision lands between the history read and the registration
        mutex.lock();
        try {
            ensureOpen();
            if (fromRevision > 0 && fromRevision < compactRevision) {
                w.fail(new CompactedException(fromRevision, compactRevision));
                return w;
            }
            if (fromRevision > 0 && fromRevision <= revision) {
                for (SqliteWatches.Batch b : SqliteWatches.readHistory(conn, start, w.end(), fromRevision)) {
                    w.offer(b);
                }
            }
            watches.register(w);
        } finally {
            mutex.unlock();
        }
        return w;
    }

    @Override
    public long grantLease(Duration ttl) {
        requireNonNull(ttl, "ttl is null");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("lease TTL must be positive: " + ttl);
        }
        return (Long) submit(new Request(null, () -> {
            long id;
            do {
                id = random.nextLong() & Long.MAX_VALUE;
            } while (id == 0 || leases.containsKey(id));
            try (var ps = conn.prepareStatement("INSERT INTO lease (id, ttl_ms) VALUES (?, ?)")) {
                ps.setLong(1, id);
                ps.setLong(2, ttl.toMillis());
                ps.executeUpdate();
            }
            conn.commit();
            long ttlNanos = ttl.toNanos();
            leases.put(id, new LeaseState(ttlNanos, System.nanoTime() + ttlNanos));
            return id;
        }));
    }

    @Override
    public void keepAlive(long leaseId) {
        ensureOpen();
        LeaseState s = leases.get(leaseId);
        if (s == null) {
            throw new LeaseNotFoundException(leaseId);
        }
        s.deadlineNanos = System.nanoTime() + s.ttlNanos;
    }

    @Override
    public void revokeLease(long leaseId) {
        submit(new Request(null, () -> {
            if (leases.containsKey(leaseId)) {
                removeLease(leaseId);
            }
            return null;
        }));
    }

    private void expireLeases() {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        for (var e : List.copyOf(leases.entrySet())) {
            if (now - e.getValue().deadlineNanos > 0) {
                try {
                    submit(new Request(null, () -> {
                        LeaseState st = leases.get(e.getKey());
                        if (st != null && System.nanoTime() - st.deadlineNanos > 0) {
                            log.info("event=lease_expired lease={}", Long.toHexString(e.getKey()));
                            removeLease(e.getKey());
                        }
                        return null;
                    }));
                } catch (RuntimeException ex) {
                    if (!closed) {
                        log.error("event=lease_expiry_failed error=\"{}\"", ex.getMessage());
                    }
                }
            }
        }
    }

    /** Deletes the lease and its keys in one revision. Called with the mutex held. */
    private void removeLease(long leaseId) {
        long newRev = revision + 1;
        var events = new ArrayList<WatchEvent>();
        try {
            var keys = new ArrayList<byte[]>();
            try (var ps = conn.prepareStatement("SELECT key FROM kv WHERE lease = ? ORDER BY key")) {
                ps.setLong(1, leaseId);
                try (var rs = ps.executeQuery()) {
                    while (rs.next()) {
                        keys.add(rs.getBytes(1));
                    }
                }
            }
            for (byte[] k : keys) {
                deleteKey(k, newRev, events);
            }
            try (var ps = conn.prepareStatement("DELETE FROM lease WHERE id = ?")) {
                ps.setLong(1, leaseId);
                ps.executeUpdate();
            }
            if (!events.isEmpty()) {
                setMeta("revision", newRev);
            }
            conn.commit();
        } catch (SQLException e) {
            rollbackQuietly();
            throw new StoreException("store write failed: " + e.getMessage(), e);
        }
        leases.remove(leaseId);
        if (!events.isEmpty()) {
            revision = newRev;
            watches.publish(List.of(new SqliteWatches.Batch(events)));
        }
    }

    @Override
    public long revision() {
        ensureOpen();
        return revision;
    }

    @Override
    public void compact(long target) {
        submit(new Request(null, () -> {
            if (target > revision) {
                throw new IllegalArgumentException("cannot compact to " + target + ": beyond the current revision " + revision);
            }
            if (target > compactRevision) {
                doCompact(target);
            }
            return null;
        }));
    }

    private void maybeAutoCompact() {
        if (autoCompactRetention <= 0 || writesSinceCompaction < Math.max(1000, autoCompactRetention / 10)) {
            return;
        }
        long target = revision - autoCompactRetention;
        if (target > compactRevision) {
            doCompact(target);
        }
        writesSinceCompaction = 0;
    }

    private void doCompact(long target) {
        try (var del = conn.prepareStatement("DELETE FROM log WHERE rev < ? AND NOT (type = 0 AND rev = "
                + "(SELECT MAX(l2.rev) FROM log l2 WHERE l2.key = log.key AND l2.rev < ?))")) {
            del.setLong(1, target);
            del.setLong(2, target);
            int removed = del.executeUpdate();
            setMeta("compact_revision", target);
            conn.commit();
            compactRevision = target;
            log.info("event=store_compacted revision={} removed_log_rows={}", target, removed);
        } catch (SQLException e) {
            rollbackQuietly();
            throw new StoreException("store compaction failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        mutex.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            watches.cancelAll();
        } finally {
            mutex.unlock();
        }
        leaseReaper.shutdownNow();
        queue.add(POISON);
        try {
            committer.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        watches.shutdown();
        for (Connection r : readers) {
            try {
                r.close();
            } catch (SQLException ignored) {
                // closing anyway
            }
        }
        try {
            conn.close();
        } catch (SQLException e) {
            log.warn("event=store_close_failed path={} error={}", path, e.getMessage());
        }
        releaseLock();
    }

    private void releaseLock() {
        try {
            fileLock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        closeQuietly(lockChannel);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing more to release
            }
        }
    }

    private void rollbackQuietly() {
        try {
            conn.rollback();
        } catch (SQLException e) {
            log.error("event=store_rollback_failed error={}", e.getMessage());
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new StoreException("store " + path + " is closed");
        }
    }

    private interface SqlSupplier<T> {
        T get() throws SQLException;
    }
}
