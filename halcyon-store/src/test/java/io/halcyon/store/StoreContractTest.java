package io.halcyon.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The behaviour every {@link Store} backend must have. Each test works under its own key prefix so
 * that one backend instance can serve a whole class.
 */
public abstract class StoreContractTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    protected Store store;
    protected String p;

    /** A store for this test; it may be shared between tests of one class. */
    protected abstract Store store();

    /** Whether {@link #store()} is shared and must not be closed after each test. */
    protected boolean shared() {
        return false;
    }

    @BeforeEach
    void setUp() {
        store = store();
        p = "/contract/" + System.nanoTime() + "-" + SEQ.incrementAndGet() + "/";
    }

    @AfterEach
    void tearDown() {
        if (!shared()) {
            store.close();
        }
    }

    protected static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    protected static String s(KeyValue kv) {
        return kv.valueAsString();
    }

    @Test
    void putThenGetTracksRevisionsAndVersions() {
        long r1 = store.put(p + "a", b("1"));
        long r2 = store.put(p + "a", b("2"));
        assertThat(r2).isEqualTo(r1 + 1);
        KeyValue kv = store.get(p + "a").orElseThrow();
        assertThat(s(kv)).isEqualTo("2");
        assertThat(kv.createRevision()).isEqualTo(r1);
        assertThat(kv.modRevision()).isEqualTo(r2);
        assertThat(kv.version()).isEqualTo(2);
        assertThat(store.get(p + "missing")).isEmpty();
        assertThat(store.revision()).isGreaterThanOrEqualTo(r2);
    }

    @Test
    void deleteThenRecreateStartsANewLife() {
        store.put(p + "a", b("1"));
        long del = store.delete(p + "a");
        assertThat(store.get(p + "a")).isEmpty();
        long again = store.put(p + "a", b("x"));
        assertThat(again).isGreaterThan(del);
        KeyValue kv = store.get(p + "a").orElseThrow();
        assertThat(kv.createRevision()).isEqualTo(again);
        assertThat(kv.version()).isEqualTo(1);
    }

    @Test
    void deletingAMissingKeyDoesNotRaiseTheRevision() {
        long before = store.put(p + "x", b("1"));
        var r = store.txn(Txn.builder().onSuccess(Op.delete(p + "nothing")).build());
        assertThat(r.revision()).isEqualTo(before);
    }

    @Test
    void rangeReturnsOnlyThePrefixSortedByKey() {
        store.put(p + "b", b("2"));
        store.put(p + "a", b("1"));
        store.put(p + "a/child", b("3"));
        store.put(p.substring(0, p.length() - 1) + "x", b("outside"));
        RangeResult r = store.range(p);
        assertThat(r.kvs()).extracting(KeyValue::key).containsExactly(p + "a", p + "a/child", p + "b");
        assertThat(r.revision()).isGreaterThanOrEqualTo(r.kvs().get(2).modRevision());
    }

    @Test
    void rangeAtAPastRevisionSeesThePast() {
        long r1 = store.put(p + "a", b("old"));
        store.put(p + "b", b("b"));
        long r3 = store.put(p + "a", b("new"));
        store.delete(p + "b");
        RangeResult past = store.range(p, r1);
        assertThat(past.kvs()).extracting(KeyValue::key).containsExactly(p + "a");
        assertThat(s(past.kvs().get(0))).isEqualTo("old");
        RangeResult mid = store.range(p, r3);
        assertThat(mid.kvs()).extracting(KeyValue::key).containsExactly(p + "a", p + "b");
        assertThat(s(mid.kvs().get(0))).isEqualTo("new");
        assertThat(store.range(p).kvs()).extracting(KeyValue::key).containsExactly(p + "a");
    }

    @Test
    void compareAndSwapChoosesTheBranch() {
        long r1 = store.put(p + "k", b("v1"));
        TxnResult stale = store.txn(Txn.builder()
                .when(Compare.modRevision(p + "k", r1 - 1))
                .onSuccess(Op.put(p + "k", b("wrong")))
                .onFailure(Op.get(p + "k"))
                .build());
        assertThat(stale.succeeded()).isFalse();
        assertThat(stale.reads()).hasSize(1);
        assertThat(s(stale.reads().get(0).orElseThrow())).isEqualTo("v1");
        assertThat(stale.revision()).isEqualTo(store.revision());

        TxnResult ok = store.txn(Txn.builder()
                .when(Compare.modRevision(p + "k", r1))
                .onSuccess(Op.put(p + "k", b("v2")), Op.put(p + "other", b("o")))
                .build());
        assertThat(ok.succeeded()).isTrue();
        assertThat(ok.revision()).isEqualTo(r1 + 1);
        assertThat(store.get(p + "k").orElseThrow().modRevision()).isEqualTo(ok.revision());
        assertThat(store.get(p + "other").orElseThrow().modRevision()).isEqualTo(ok.revision());
    }

    @Test
    void absentCompareCreatesOnlyOnce() {
        var create = Txn.builder().when(Compare.absent(p + "once")).onSuccess(Op.put(p + "once", b("first"))).build();
        assertThat(store.txn(create).succeeded()).isTrue();
        var again = Txn.builder().when(Compare.absent(p + "once")).onSuccess(Op.put(p + "once", b("second"))).build();
        assertThat(store.txn(again).succeeded()).isFalse();
        assertThat(s(store.get(p + "once").orElseThrow())).isEqualTo("first");
        assertThat(store.txn(Txn.builder().when(Compare.present(p + "once")).build()).succeeded()).isTrue();
    }

    @Test
    void concurrentCompareAndSwapHasExactlyOneWinner() throws Exception {
        long seen = store.put(p + "counter", b("0"));
        int writers = 16;
        var pool = Executors.newFixedThreadPool(writers);
        try {
            var start = new CountDownLatch(1);
            var futures = new ArrayList<Future<Boolean>>();
            for (int i = 0; i < writers; i++) {
                String mine = "writer-" + i;
                futures.add(pool.submit(() -> {
                    start.await();
                    return store.txn(Txn.builder()
                            .when(Compare.modRevision(p + "counter", seen))
                            .onSuccess(Op.put(p + "counter", b(mine)))
                            .build()).succeeded();
                }));
            }
            start.countDown();
            var winners = new ArrayList<Integer>();
            for (int i = 0; i < writers; i++) {
                if (futures.get(i).get(30, TimeUnit.SECONDS)) {
                    winners.add(i);
                }
            }
            assertThat(winners).hasSize(1);
            KeyValue kv = store.get(p + "counter").orElseThrow();
            assertThat(s(kv)).isEqualTo("writer-" + winners.get(0));
            assertThat(kv.version()).isEqualTo(2);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void deletePrefixRemovesEveryKeyInOneRevision() {
        store.put(p + "d/1", b("1"));
        store.put(p + "d/2", b("2"));
        store.put(p + "keep", b("k"));
        long rev = store.txn(Txn.builder().onSuccess(Op.deletePrefix(p + "d/")).build()).revision();
        assertThat(store.range(p).kvs()).extracting(KeyValue::key).containsExactly(p + "keep");
        assertThat(store.revision()).isGreaterThanOrEqualTo(rev);
    }

    /** Collects watch events; fails the test on errors it does not expect. */
    protected static final class Recorder implements WatchListener {
        final List<WatchEvent> events = new CopyOnWriteArrayList<>();
        final List<List<WatchEvent>> batches = new CopyOnWriteArrayList<>();
        final AtomicReference<StoreException> error = new AtomicReference<>();

        @Override
        public void onEvents(List<WatchEvent> batch) {
            batches.add(batch);
            events.addAll(batch);
        }

        @Override
        public void onError(StoreException e) {
            error.set(e);
        }

        List<String> describe() {
            var out = new ArrayList<String>();
            for (WatchEvent e : events) {
                out.add(e.type() + " " + e.kv().key() + (e.type() == WatchEvent.Type.PUT ? "=" + e.kv().valueAsString() : ""));
            }
            return out;
        }
    }

    @Test
    void watchDeliversEveryChangeInOrderAndNeverSplitsARevision() {
        var rec = new Recorder();
        try (Watch w = store.watch(p, store.revision() + 1, rec)) {
            store.put(p + "a", b("1"));
            store.txn(Txn.builder().onSuccess(Op.put(p + "b", b("2")), Op.put(p + "c", b("3"))).build());
            store.delete(p + "a");
            for (int i = 0; i < 50; i++) {
                store.put(p + "n", b(Integer.toString(i)));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> rec.events.size() == 54);
            var expected = new ArrayList<>(List.of("PUT " + p + "a=1", "PUT " + p + "b=2", "PUT " + p + "c=3", "DELETE " + p + "a"));
            for (int i = 0; i < 50; i++) {
                expected.add("PUT " + p + "n=" + i);
            }
            assertThat(rec.describe()).containsExactlyElementsOf(expected);
            assertThat(rec.events.get(1).revision()).isEqualTo(rec.events.get(2).revision());
            for (List<WatchEvent> batch : rec.batches) {
                long last = batch.get(batch.size() - 1).revision();
                // a revision that starts in a batch ends in it
                assertThat(rec.batches.stream().filter(other -> other != batch)
                        .flatMap(List::stream).noneMatch(e -> e.revision() == last)).isTrue();
            }
            for (int i = 1; i < rec.events.size(); i++) {
                assertThat(rec.events.get(i).revision()).isGreaterThanOrEqualTo(rec.events.get(i - 1).revision());
            }
            assertThat(rec.error.get()).isNull();
        }
    }

    @Test
    void watchResumesAfterAGapWithExactlyTheMissedChanges() {
        store.put(p + "k", b("before"));
        long resumeFrom = store.revision() + 1;
        // the watcher is away while these happen
        store.put(p + "k", b("gap-1"));
        store.put(p + "j", b("gap-2"));
        store.delete(p + "k");
        var rec = new Recorder();
        try (Watch w = store.watch(p, resumeFrom, rec)) {
            store.put(p + "k", b("live"));
            await().atMost(Duration.ofSeconds(10)).until(() -> rec.events.size() == 4);
            assertThat(rec.describe()).containsExactly("PUT " + p + "k=gap-1", "PUT " + p + "j=gap-2", "DELETE " + p + "k", "PUT " + p + "k=live");
        }
    }

    @Test
    void watchOnlySeesItsPrefix() {
        var rec = new Recorder();
        try (Watch w = store.watch(p + "mine/", store.revision() + 1, rec)) {
            store.put(p + "other", b("x"));
            store.put(p + "mine/1", b("y"));
            await().atMost(Duration.ofSeconds(10)).until(() -> rec.events.size() == 1);
            assertThat(rec.describe()).containsExactly("PUT " + p + "mine/1=y");
        }
    }

    @Test
    void watchFromACompactedRevisionFails() {
        long old = store.put(p + "a", b("1"));
        store.put(p + "a", b("2"));
        long now = store.put(p + "a", b("3"));
        store.compact(now);
        var rec = new Recorder();
        try (Watch w = store.watch(p, old, rec)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> rec.error.get() != null);
            assertThat(rec.error.get()).isInstanceOf(CompactedException.class);
        }
        assertThatThrownBy(() -> store.range(p, old)).isInstanceOf(CompactedException.class);
        assertThat(s(store.range(p, now).kvs().get(0))).isEqualTo("3");
    }

    @Test
    void leaseExpiryRemovesItsKeysAsDeleteEvents() {
        long lease = store.grantLease(Duration.ofSeconds(2));
        store.txn(Txn.builder().onSuccess(Op.put(p + "ephemeral", b("e"), lease), Op.put(p + "durable", b("d"))).build());
        assertThat(store.get(p + "ephemeral").orElseThrow().lease()).isEqualTo(lease);
        var rec = new Recorder();
        try (Watch w = store.watch(p, store.revision() + 1, rec)) {
            await().atMost(Duration.ofSeconds(15)).until(() -> store.get(p + "ephemeral").isEmpty());
            await().atMost(Duration.ofSeconds(5)).until(() -> rec.events.size() == 1);
            assertThat(rec.describe()).containsExactly("DELETE " + p + "ephemeral");
        }
        assertThat(store.get(p + "durable")).isPresent();
        assertThatThrownBy(() -> store.keepAlive(lease)).isInstanceOf(LeaseNotFoundException.class);
    }

    @Test
    void keepAliveHoldsALeasePastItsTtl() throws InterruptedException {
        long lease = store.grantLease(Duration.ofSeconds(2));
        store.put(p + "held", b("h"));
        store.txn(Txn.builder().onSuccess(Op.put(p + "held", b("h"), lease)).build());
        long end = System.nanoTime() + Duration.ofSeconds(4).toNanos();
        while (System.nanoTime() < end) {
            store.keepAlive(lease);
            assertThat(store.get(p + "held")).isPresent();
            Thread.sleep(300); // the keep-alive cadence itself is under test here
        }
        store.revokeLease(lease);
        assertThat(store.get(p + "held")).isEmpty();
        store.revokeLease(lease);
    }

    @Test
    void putWithAnUnknownLeaseFailsAndChangesNothing() {
        long before = store.put(p + "x", b("1"));
        assertThatThrownBy(() -> store.txn(Txn.builder()
                .onSuccess(Op.put(p + "y", b("2")), Op.put(p + "z", b("3"), 0x7abcdef12345L)).build()))
                .isInstanceOf(StoreException.class);
        assertThat(store.get(p + "y")).isEmpty();
        assertThat(store.get(p + "z")).isEmpty();
        assertThat(store.get(p + "x").orElseThrow().modRevision()).isEqualTo(before);
    }

    @Test
    void revisionsOnlyGrowAcrossManyWriters() throws Exception {
        var pool = Executors.newFixedThreadPool(8);
        var revisions = Collections.synchronizedList(new ArrayList<Long>());
        try {
            var futures = new ArrayList<Future<?>>();
            for (int t = 0; t < 8; t++) {
                int id = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 25; i++) {
                        revisions.add(store.put(p + "w" + id, b(Integer.toString(i))));
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(revisions).doesNotHaveDuplicates().hasSize(200);
    }
}
