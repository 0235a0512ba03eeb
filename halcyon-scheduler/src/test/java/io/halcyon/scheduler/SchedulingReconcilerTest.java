package io.halcyon.scheduler;

import io.halcyon.model.compute.FlavorSnapshot;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.PowerIntent;
import io.halcyon.model.compute.RebootType;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerSpec;
import io.halcyon.model.compute.ServerStatus;
import io.halcyon.model.compute.VmState;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.model.host.HostLease;
import io.halcyon.runtime.ConflictException;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Leadership;
import io.halcyon.runtime.ManualClock;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Compare;
import io.halcyon.store.sqlite.SqliteStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The scheduling reconciler over a real sqlite store with a manual clock. */
class SchedulingReconcilerTest {
    @TempDir
    Path dir;
    SqliteStore store;
    Resources res;
    final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    Leadership leader;

    /** A fixed term: the leader key written once, its revision the fencing token. */
    static Leadership term(SqliteStore store) {
        long epoch = store.put("/halcyon/leader/controller", "test".getBytes(StandardCharsets.UTF_8));
        return new Leadership() {
            public boolean isLeader() {
                return true;
            }

            public long epoch() {
                return epoch;
            }

            public Compare fence() {
                return Compare.modRevision("/halcyon/leader/controller", epoch);
            }

            public void addListener(Listener l) {
                l.elected(epoch);
            }
        };
    }

    @BeforeEach
    void open() {
        store = SqliteStore.open(dir.resolve("s.db"), 0);
        res = new Resources(store, clock, Duration.ofSeconds(5));
        res.start();
        leader = term(store);
    }

    @AfterEach
    void close() {
        res.close();
        store.close();
    }

    void host(String name, int ramMb, boolean up) {
        res.repo(Kinds.HOSTS).create(new Host(name, "id-" + name, 1, 2, ramMb, 100, 0, 0, 0, "tcg", "x86_64", "m", "7.2", null, "1", "b", 0,
                true, null, clock.now(), clock.now()));
        res.repo(Kinds.ALLOCATIONS).create(HostAllocation.empty(name));
        if (up) {
            res.repo(Kinds.HOST_LEASES).create(new HostLease(name, 0, "b", clock.now()));
        }
    }

    Server server(String id, int ramMb) {
        var spec = new ServerSpec(id, null, new FlavorSnapshot("f", "f", 1, ramMb, 1, 0, 0, Map.of()), "img", Map.of(), null, false, null,
                "nova", null, null, PowerIntent.ON, 0, RebootType.SOFT, false, null);
        var s = new Server(id, "p", "u", clock.now(), spec, ServerStatus.building(clock.now()));
        res.repo(Kinds.SERVERS).create(s);
        res.repo(Kinds.INSTANCE_ACTIONS).create(new InstanceAction("req-" + id, id, "create", "p", "u", clock.now(), clock.now(), null, List.of()));
        return s;
    }

    @Test
    void placesOnTheHostWithMoreFreeRamAndRecordsTheClaim() {
        host("small", 1024, true);
        host("big", 4096, true);
        server("s1", 512);
        res.sync();
        var r = new SchedulingReconciler(res, new Scheduler(new SchedulerConfig(16, 1, 1, 1), Filters.DEFAULT), leader, new Random(1));
        r.reconcile("s1");
        res.sync();
        Server s = res.servers().get("s1").orElseThrow().value();
        assertThat(s.status().host()).isEqualTo("big");
        assertThat(s.status().epoch()).isEqualTo(1);
        assertThat(res.allocations().get("big").orElseThrow().value().claims()).containsKey("s1");
        // reconciling again changes nothing: it is idempotent
        long rev = store.revision();
        r.reconcile("s1");
        assertThat(store.revision()).isEqualTo(rev);
    }

    @Test
    void aHostJustOutOfMaintenanceTakesGuestsBeforeTheHaMonitorHasCaughtUp() {
        host("h1", 4096, true);
        // the monitor's record still says maintenance; the host's own setting is already off
        res.repo(Kinds.HOST_HA).create(new io.halcyon.model.host.HostHaStatus("h1", "maintenance", clock.now(), "maintenance on", 0));
        res.repo(Kinds.HOST_HA_CONFIG).create(io.halcyon.model.host.HostHaConfig.empty("h1", clock.now()).withMaintenance(false, clock.now()));
        server("s1", 512);
        res.sync();
        new SchedulingReconciler(res, new Scheduler(SchedulerConfig.defaults(), Filters.DEFAULT), leader, new Random(1)).reconcile("s1");
        res.sync();
        assertThat(res.servers().get("s1").orElseThrow().value().status().host()).isEqualTo("h1");
    }

    @Test
    void noValidHostMakesErrorWithNovasFaultAndAFailedEvent() {
        host("down", 8192, false);
        server("s1", 512);
        res.sync();
        new SchedulingReconciler(res, new Scheduler(SchedulerConfig.defaults(), Filters.DEFAULT), leader, new Random(1)).reconcile("s1");
        res.sync();
        Server s = res.servers().get("s1").orElseThrow().value();
        assertThat(s.status().vmState()).isEqualTo(VmState.ERROR);
        assertThat(s.status().fault().message()).isEqualTo("No valid host was found. There are not enough hosts available.");
        assertThat(s.status().fault().details()).contains("ComputeFilter rejected 1");
        var action = res.instanceActions().list().get(0).value();
        assertThat(action.events()).singleElement().satisfies(e -> assertThat(e.result()).isEqualTo("Error"));
    }

    @Test
    void aDeposedLeadersPlacementFails() {
        host("h", 4096, true);
        server("s1", 512);
        res.sync();
        store.put("/halcyon/leader/controller", "someone else".getBytes(StandardCharsets.UTF_8));
        res.sync();
        var r = new SchedulingReconciler(res, new Scheduler(SchedulerConfig.defaults(), Filters.DEFAULT), leader, new Random(1));
        assertThatThrownBy(() -> r.reconcile("s1")).isInstanceOf(ConflictException.class);
        res.sync();
        assertThat(res.servers().get("s1").orElseThrow().value().status().host()).isNull();
        assertThat(res.allocations().get("h").orElseThrow().value().claims()).isEmpty();
    }

    /**
     * Seeded stress: random host sizes and demands, four schedulers racing on stale caches.
     * After the run every host's claims fit its capacity, every placed server holds exactly one
     * claim on its own host, and every server is either placed or in ERROR. A failure names the seed.
     */
    @RepeatedTest(5)
    void racingSchedulersNeverOvercommit() throws Exception {
        long seed = Long.getLong("halcyon.seed", System.nanoTime());
        var random = new Random(seed);
        int hosts = 3 + random.nextInt(4);
        for (int i = 0; i < hosts; i++) {
            host("h" + i, 512 * (1 + random.nextInt(8)), true);
        }
        var ids = new ArrayList<String>();
        for (int i = 0; i < 60; i++) {
            ids.add(server("s" + i, 128 * (1 + random.nextInt(4))).id());
        }
        res.sync();
        var scheduler = new Scheduler(new SchedulerConfig(16, 1, 1, 2), Filters.DEFAULT);
        var pool = Executors.newFixedThreadPool(4);
        var errors = new ConcurrentLinkedQueue<Throwable>();
        for (int t = 0; t < 4; t++) {
            var r = new SchedulingReconciler(res, scheduler, leader, new Random(seed + t));
            var order = new ArrayList<>(ids);
            java.util.Collections.shuffle(order, new Random(seed * 31 + t));
            pool.execute(() -> {
                for (String id : order) {
                    for (int attempt = 0; attempt < 50; attempt++) {
                        try {
                            r.reconcile(id);
                            break;
                        } catch (ConflictException e) {
                            Thread.onSpinWait();
                        } catch (Throwable e) {
                            errors.add(e);
                            break;
                        }
                    }
                }
            });
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        res.sync();
        assertThat(errors).as("seed %d", seed).isEmpty();
        for (var v : res.allocations().list()) {
            HostAllocation a = v.value();
            int capacity = res.hosts().get(a.host()).orElseThrow().value().ramMb();
            assertThat(a.usedRamMb()).as("seed %d host %s", seed, a.host()).isLessThanOrEqualTo(capacity);
            for (String sid : a.claims().keySet()) {
                assertThat(res.servers().get(sid).orElseThrow().value().status().host()).as("seed %d", seed).isEqualTo(a.host());
            }
        }
        for (Versioned<Server> v : res.servers().list()) {
            Server s = v.value();
            if (s.status().host() != null) {
                assertThat(res.allocations().get(s.status().host()).orElseThrow().value().claims()).as("seed %d", seed).containsKey(s.id());
            } else {
                assertThat(s.status().vmState()).as("seed %d server %s", seed, s.id()).isEqualTo(VmState.ERROR);
            }
        }
    }

    @Test
    void antiAffinityMembersGoToDifferentHostsAndAThirdFindsNone() {
        host("a", 4096, true);
        host("b", 4096, true);
        for (String id : List.of("g1", "g2", "g3")) {
            server(id, 256);
        }
        res.repo(Kinds.SERVER_GROUPS).create(new io.halcyon.model.compute.ServerGroup("grp", "web", "p", "u",
                io.halcyon.model.compute.ServerGroup.ANTI_AFFINITY, List.of("g1", "g2", "g3"), clock.now()));
        res.sync();
        var r = new SchedulingReconciler(res, new Scheduler(new SchedulerConfig(16, 1, 1, 1), Filters.DEFAULT), leader, new Random(1));
        for (String id : List.of("g1", "g2", "g3")) {
            r.reconcile(id);
            res.sync();
        }
        assertThat(res.servers().get("g1").orElseThrow().value().status().host())
                .isNotEqualTo(res.servers().get("g2").orElseThrow().value().status().host());
        Server third = res.servers().get("g3").orElseThrow().value();
        assertThat(third.status().vmState()).isEqualTo(VmState.ERROR);
        assertThat(third.status().fault().details()).contains("ServerGroupFilter rejected 2");
    }

    @Test
    void affinityMembersJoinTheFirstMembersHost() {
        host("a", 4096, true);
        host("b", 8192, true);
        server("f1", 256);
        server("f2", 256);
        res.repo(Kinds.SERVER_GROUPS).create(new io.halcyon.model.compute.ServerGroup("grp", "db", "p", "u",
                io.halcyon.model.compute.ServerGroup.AFFINITY, List.of("f1", "f2"), clock.now()));
        res.sync();
        var r = new SchedulingReconciler(res, new Scheduler(new SchedulerConfig(16, 1, 1, 1), Filters.DEFAULT), leader, new Random(1));
        r.reconcile("f1");
        res.sync();
        // b has more free memory, but f2 must follow f1 wherever it went
        r.reconcile("f2");
        res.sync();
        assertThat(res.servers().get("f2").orElseThrow().value().status().host())
                .isEqualTo(res.servers().get("f1").orElseThrow().value().status().host());
    }
}
