package io.halcyon.runtime;

import io.halcyon.store.sqlite.SqliteStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class CacheAndLoopTest {
    record Thing(String id, String owner, int n) {
    }

    static final Kind<Thing> THINGS = new Kind<>("things", Thing.class, Thing::id);

    @TempDir
    Path dir;
    SqliteStore store;
    Cache cache;

    @BeforeEach
    void open() {
        store = SqliteStore.open(dir.resolve("s.db"));
    }

    @AfterEach
    void close() {
        if (cache != null) {
            cache.close();
        }
        store.close();
    }

    @Test
    void informerListsThenFollowsChangesWithIndexesAndReadYourWrites() {
        var repo = new Repository<>(store, THINGS);
        repo.create(new Thing("a", "p1", 1));
        cache = new Cache(store);
        var inf = cache.informer(THINGS);
        inf.addIndex("owner", t -> List.of(t.owner()));
        var seen = new ConcurrentHashMap<String, Integer>();
        inf.addHandler((id, old, now) -> seen.merge(id, 1, Integer::sum));
        cache.start();
        assertThat(inf.get("a")).isPresent();

        long rev = repo.create(new Thing("b", "p2", 1));
        cache.sync(Duration.ofSeconds(5));
        assertThat(cache.revision()).isGreaterThanOrEqualTo(rev);
        assertThat(inf.byIndex("owner", "p2")).extracting(v -> v.value().id()).containsExactly("b");

        var b = inf.get("b").orElseThrow();
        repo.update(new Thing("b", "p1", 2), b.revision());
        repo.delete("a", inf.get("a").orElseThrow().revision());
        cache.sync(Duration.ofSeconds(5));
        assertThat(inf.byIndex("owner", "p2")).isEmpty();
        assertThat(inf.byIndex("owner", "p1")).extracting(v -> v.value().n()).containsExactly(2);
        assertThat(inf.get("a")).isEmpty();
        assertThat(seen).containsEntry("b", 2);
    }

    @Test
    void compactionMakesTheCacheRelistWithoutLosingState() {
        var repo = new Repository<>(store, THINGS);
        cache = new Cache(store);
        var inf = cache.informer(THINGS);
        cache.start();
        for (int i = 0; i < 20; i++) {
            repo.create(new Thing("t" + i, "p", i));
        }
        store.compact(store.revision());
        repo.create(new Thing("late", "p", 99));
        cache.sync(Duration.ofSeconds(5));
        assertThat(inf.size()).isEqualTo(21);
    }

    @Test
    void theSqliteControllerIsAlwaysLeaderAndReconcilesEveryKey() {
        var repo = new Repository<>(store, THINGS);
        cache = new Cache(store);
        var inf = cache.informer(THINGS);
        var elector = new LeaderElector(store, "c1", Duration.ofSeconds(3), Clock.SYSTEM);
        var runs = new ConcurrentHashMap<String, AtomicInteger>();
        var queue = new WorkQueue("things", Duration.ofMillis(5), Duration.ofMillis(100));
        Map<String, Integer> failOnce = new ConcurrentHashMap<>(Map.of("t1", 1));
        Reconciler r = key -> {
            runs.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            if (failOnce.remove(key) != null) {
                throw new IllegalStateException("transient");
            }
            return Result.done();
        };
        var loop = new ReconcileLoop("things", r, queue, 2, elector,
                () -> inf.list().stream().map(v -> v.value().id()).toList(), Duration.ofMinutes(5));
        inf.addHandler((id, old, now) -> queue.add(id));
        cache.start();
        loop.start();
        elector.start();
        try {
            await().atMost(Duration.ofSeconds(10)).until(elector::isLeader);
            assertThat(elector.epoch()).isPositive();
            repo.create(new Thing("t1", "p", 1));
            repo.create(new Thing("t2", "p", 1));
            await().atMost(Duration.ofSeconds(10)).until(() -> runs.containsKey("t2") && runs.getOrDefault("t1", new AtomicInteger()).get() >= 2);
            assertThat(store.txn(io.halcyon.store.Txn.builder().when(elector.fence()).build()).succeeded()).isTrue();
        } finally {
            loop.close();
            elector.close();
        }
        assertThat(elector.isLeader()).isFalse();
    }
}
