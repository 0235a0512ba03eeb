package io.halcyon.store.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchResponse;
import io.halcyon.store.CompactedException;
import io.halcyon.store.Compare;
import io.halcyon.store.KeyValue;
import io.halcyon.store.LeaseNotFoundException;
import io.halcyon.store.Op;
import io.halcyon.store.RangeResult;
import io.halcyon.store.SerialExecutor;
import io.halcyon.store.Store;
import io.halcyon.store.StoreException;
import io.halcyon.store.StoreUnavailableException;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import io.halcyon.store.Watch;
import io.halcyon.store.WatchEvent;
import io.halcyon.store.WatchListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static java.util.Objects.requireNonNull;

/**
 * The replicated store: a real etcd cluster through jetcd. Reads are linearizable. Every call is
 * bounded by {@code timeout}; a call that cannot reach a quorum in time fails with
 * {@link StoreUnavailableException}, which the API turns into a 503.
 */
public final class EtcdStore implements Store {
    private static final Logger log = LoggerFactory.getLogger(EtcdStore.class);

    private final Client client;
    private final Duration timeout;
    private final ExecutorService delivery;
    private final List<String> endpoints;

    public static EtcdStore connect(List<String> endpoints, Duration timeout) {
        return new EtcdStore(endpoints, timeout);
    }

    private EtcdStore(List<String> endpoints, Duration timeout) {
        this.endpoints = List.copyOf(requireNonNull(endpoints, "endpoints is null"));
        this.timeout = requireNonNull(timeout, "timeout is null");
        if (this.endpoints.isEmpty()) {
            throw new IllegalArgumentException("at least one etcd endpoint is required");
        }
        this.client = Client.builder()
                .endpoints(this.endpoints.toArray(String[]::new))
                .retryMaxDuration(timeout)
                .build();
        this.delivery = Executors.newCachedThreadPool(r -> {
            var t = new Thread(r, "etcd-watch");
            t.setDaemon(true);
            return t;
        });
        log.info("event=store_opened backend=etcd endpoints={}", this.endpoints);
    }

    private static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static ByteSequence bs(byte[] b) {
        return ByteSequence.from(b);
    }

    private static KeyValue kv(io.etcd.jetcd.KeyValue k) {
        return new KeyValue(k.getKey().toString(StandardCharsets.UTF_8), k.getValue().getBytes(), k.getCreateRevision(),
                k.getModRevision(), k.getVersion(), k.getLease());
    }

    private <T> T await(CompletableFuture<T> f, String what) {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            throw new StoreUnavailableException("interrupted during etcd " + what, e);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new StoreUnavailableException("etcd " + what + " timed out after " + timeout.toMillis()
                    + " ms (endpoints " + endpoints + "; is a quorum of members up?)", e);
        } catch (ExecutionException e) {
            throw translate(e.getCause(), what);
        }
    }

    private StoreException translate(Throwable cause, String what) {
        if (cause instanceof StoreException se) {
            return se;
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof io.etcd.jetcd.common.exception.CompactedException ce) {
                return new CompactedException(-1, ce.getCompactedRevision());
            }
            String m = String.valueOf(t.getMessage());
            if (m.contains("required revision has been compacted")) {
                return new CompactedException(-1, -1);
            }
            if (m.contains("requested lease not found")) {
                return new LeaseNotFoundException(-1);
            }
            if (t instanceof EtcdException ee
                    && (ee.getErrorCode() == ErrorCode.UNAVAILABLE || ee.getErrorCode() == ErrorCode.DEADLINE_EXCEEDED)
                    || m.startsWith("UNAVAILABLE") || m.startsWith("DEADLINE_EXCEEDED")) {
                return new StoreUnavailableException("etcd " + what + " failed: " + m, cause);
            }
        }
        return new StoreException("etcd " + what + " failed: " + (cause == null ? "unknown" : cause.getMessage()), cause);
    }

    @Override
    public Optional<KeyValue> get(String key) {
        GetResponse r = await(client.getKVClient().get(bs(key)), "get");
        return r.getKvs().stream().findFirst().map(EtcdStore::kv);
    }

    @Override
    public RangeResult range(String prefix) {
        return range(prefix, 0);
    }

    @Override
    public RangeResult range(String prefix, long revision) {
        var opt = GetOption.builder().isPrefix(true).withSortField(GetOption.SortTarget.KEY)
                .withSortOrder(GetOption.SortOrder.ASCEND);
        if (revision > 0) {
            opt.withRevision(revision);
        }
        GetResponse r = await(client.getKVClient().get(bs(prefix), opt.build()), "range");
        var kvs = new ArrayList<KeyValue>(r.getKvs().size());
        r.getKvs().forEach(k -> kvs.add(kv(k)));
        return new RangeResult(kvs, revision > 0 ? revision : r.getHeader().getRevision());
    }

    @Override
    public TxnResult txn(Txn txn) {
        var cmps = new ArrayList<Cmp>();
        for (Compare c : txn.compares()) {
            var op = switch (c.result()) {
                case EQUAL -> Cmp.Op.EQUAL;
                case NOT_EQUAL -> Cmp.Op.NOT_EQUAL;
                case GREATER -> Cmp.Op.GREATER;
                case LESS -> Cmp.Op.LESS;
            };
            var target = switch (c.target()) {
                case CREATE_REVISION -> CmpTarget.createRevision(c.operand());
                case MOD_REVISION -> CmpTarget.modRevision(c.operand());
                case VERSION -> CmpTarget.version(c.operand());
            };
            cmps.add(new Cmp(bs(c.key()), op, target));
        }
        TxnResponse r = await(client.getKVClient().txn()
                .If(cmps.toArray(Cmp[]::new))
                .Then(ops(txn.onSuccess()))
                .Else(ops(txn.onFailure()))
                .commit(), "txn");
        var branch = r.isSucceeded() ? txn.onSuccess() : txn.onFailure();
        var reads = new ArrayList<Optional<KeyValue>>();
        var gets = r.getGetResponses();
        int gi = 0;
        for (Op op : branch) {
            if (op instanceof Op.Get) {
                var g = gets.get(gi++);
                reads.add(g.getKvs().stream().findFirst().map(EtcdStore::kv));
            }
        }
        return new TxnResult(r.isSucceeded(), r.getHeader().getRevision(), reads);
    }

    private static io.etcd.jetcd.op.Op[] ops(List<Op> ops) {
        var out = new io.etcd.jetcd.op.Op[ops.size()];
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (op instanceof Op.Put p) {
                out[i] = io.etcd.jetcd.op.Op.put(bs(p.key()), bs(p.value()), PutOption.builder().withLeaseId(p.lease()).build());
            } else if (op instanceof Op.Delete d) {
                out[i] = io.etcd.jetcd.op.Op.delete(bs(d.key()), DeleteOption.builder().isPrefix(d.prefix()).build());
            } else if (op instanceof Op.Get g) {
                out[i] = io.etcd.jetcd.op.Op.get(bs(g.key()), GetOption.DEFAULT);
            } else {
                throw new IllegalArgumentException("unknown op " + op);
            }
        }
        return out;
    }

    @Override
    public Watch watch(String prefix, long fromRevision, WatchListener listener) {
        requireNonNull(listener, "listener is null");
        var serial = new SerialExecutor(delivery);
        var opt = WatchOption.builder().isPrefix(true);
        if (fromRevision > 0) {
            opt.withRevision(fromRevision);
        }
        var state = new Object() {
            volatile boolean cancelled;
        };
        var watcher = client.getWatchClient().watch(bs(prefix), opt.build(), new io.etcd.jetcd.Watch.Listener() {
            @Override
            public void onNext(WatchResponse response) {
                var events = new ArrayList<WatchEvent>();
                for (var e : response.getEvents()) {
                    var k = e.getKeyValue();
                    if (e.getEventType() == io.etcd.jetcd.watch.WatchEvent.EventType.PUT) {
                        events.add(new WatchEvent(WatchEvent.Type.PUT, kv(k)));
                    } else if (e.getEventType() == io.etcd.jetcd.watch.WatchEvent.EventType.DELETE) {
                        events.add(new WatchEvent(WatchEvent.Type.DELETE, new KeyValue(k.getKey().toString(StandardCharsets.UTF_8),
                                new byte[0], 0, k.getModRevision(), 0, 0)));
                    }
                }
                if (!events.isEmpty()) {
                    serial.execute(() -> {
                        if (!state.cancelled) {
                            listener.onEvents(events);
                        }
                    });
                }
            }

            @Override
            public void onError(Throwable t) {
                StoreException error = t instanceof io.etcd.jetcd.common.exception.CompactedException ce
                        ? new CompactedException(fromRevision, ce.getCompactedRevision())
                        : translate(t, "watch");
                serial.execute(() -> {
                    if (!state.cancelled) {
                        state.cancelled = true;
                        listener.onError(error);
                    }
                });
            }

            @Override
            public void onCompleted() {
                // a completed stream without an error only follows close()
            }
        });
        return () -> {
            state.cancelled = true;
            watcher.close();
        };
    }

    @Override
    public long grantLease(Duration ttl) {
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("lease TTL must be positive: " + ttl);
        }
        // etcd counts lease TTLs in whole seconds
        long seconds = Math.max(1, (ttl.toMillis() + 999) / 1000);
        return await(client.getLeaseClient().grant(seconds), "lease grant").getID();
    }

    @Override
    public void keepAlive(long leaseId) {
        try {
            var r = await(client.getLeaseClient().keepAliveOnce(leaseId), "lease keep-alive");
            if (r.getTTL() <= 0) {
                throw new LeaseNotFoundException(leaseId);
            }
        } catch (LeaseNotFoundException e) {
            throw new LeaseNotFoundException(leaseId);
        }
    }

    @Override
    public void revokeLease(long leaseId) {
        try {
            await(client.getLeaseClient().revoke(leaseId), "lease revoke");
        } catch (LeaseNotFoundException e) {
            // already gone
        }
    }

    @Override
    public long revision() {
        GetResponse r = await(client.getKVClient().get(bs("\0"), GetOption.builder().withCountOnly(true).build()), "revision");
        return r.getHeader().getRevision();
    }

    @Override
    public void compact(long revision) {
        try {
            await(client.getKVClient().compact(revision), "compact");
        } catch (CompactedException e) {
            // already compacted at or beyond this revision
        }
    }

    @Override
    public void close() {
        client.close();
        delivery.shutdown();
    }
}
