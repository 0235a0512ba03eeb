package io.halcyon.controller.ha;

import io.halcyon.config.Sealer;
import io.halcyon.ha.BmcOutcome;
import io.halcyon.ha.HaSettings;
import io.halcyon.model.agent.GuestReport;
import io.halcyon.model.compute.FlavorSnapshot;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.PowerIntent;
import io.halcyon.model.compute.PowerState;
import io.halcyon.model.compute.RebootType;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerSpec;
import io.halcyon.model.compute.ServerStatus;
import io.halcyon.model.compute.TaskState;
import io.halcyon.model.compute.VmState;
import io.halcyon.model.host.Claim;
import io.halcyon.model.host.HostBeat;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.model.host.HostEvent;
import io.halcyon.model.host.HostHaConfig;
import io.halcyon.model.host.HostLease;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Leadership;
import io.halcyon.runtime.ManualClock;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.scheduler.SchedulerConfig;
import io.halcyon.store.Compare;
import io.halcyon.store.sqlite.SqliteStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The HA controller over a real sqlite store with a manual clock: detection, fencing, recovery, as the store records them. */
class HaControllerTest {
    @TempDir
    Path dir;
    SqliteStore store;
    Resources res;
    final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    Leadership leader;
    final List<BmcFencer.Target> fenced = new ArrayList<>();
    final List<String> gone = new ArrayList<>();
    BmcOutcome.Result bmcAnswer = BmcOutcome.Result.OFF;
    /** What happens between the BMC's status read and the command that cuts the power. */
    Runnable beforeCut = () -> { };
    Sealer credentials = new Sealer(new byte[32]);
    HaController ha;

    @BeforeEach
    void open() {
        store = SqliteStore.open(dir.resolve("s.db"), 0);
        res = new Resources(store, clock, Duration.ofSeconds(5));
        res.start();
        long epoch = store.put("/halcyon/leader/controller", "test".getBytes(StandardCharsets.UTF_8));
        leader = new Leadership() {
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
        HaController.Fencer fencer = (t, token, mayAct) -> {
            // as BmcFencer: the status read first, then the token asked for right before the power is cut
            beforeCut.run();
            if (!mayAct.getAsBoolean()) {
                return new BmcOutcome(t.host(), token, BmcOutcome.Result.FAILED, "called off");
            }
            fenced.add(t);
            return new BmcOutcome(t.host(), token, bmcAnswer, "Chassis Power is off");
        };
        ha = new HaController(res, leader, HaSettings.defaults(), SchedulerConfig.defaults(), credentials, fencer,
                (host, reports) -> reports.forEach(r -> gone.add(host + ":" + r.serverId())), Duration.ofMillis(100), Runnable::run,
                HaController.StorageFence.NONE, Runnable::run);
    }

    @AfterEach
    void close() {
        ha.close();
        res.close();
        store.close();
    }

    void host(String name, long watchdogMillis) {
        res.repo(Kinds.HOSTS).create(new Host(name, "id-" + name, 1, 8, 8192, 100, 0, 0, 0, "tcg", "x86_64", "m", "7.2", null, "1", "b", 0,
                true, null, clock.now(), clock.now(), watchdogMillis));
        res.repo(Kinds.ALLOCATIONS).create(HostAllocation.empty(name));
        res.repo(Kinds.HOST_LEASES).create(new HostLease(name, 0, "b", clock.now()));
        beat(name);
    }

    long seq;

    void beat(String name) {
        var repo = res.repo(Kinds.HOST_BEATS);
        var b = new HostBeat(name, 0, "b", ++seq, true, clock.now());
        var cur = repo.get(name);
        if (cur.isEmpty()) {
            repo.create(b);
        } else {
            repo.update(b, cur.get().revision());
        }
    }

    void server(String id, String host, Map<String, String> metadata) {
        var spec = new ServerSpec(id, null, new FlavorSnapshot("f", "f", 1, 512, 1, 0, 0, Map.of()), "img", metadata, null, false, null,
                "nova", null, null, PowerIntent.ON, 0, RebootType.SOFT, false, null);
        var st = ServerStatus.building(clock.now()).withPlacement(host, 1, clock.now())
                .withStates(VmState.ACTIVE, null, PowerState.RUNNING, clock.now());
        res.repo(Kinds.SERVERS).create(new Server(id, "p", "u", clock.now(), spec, st));
        res.repo(Kinds.ALLOCATIONS).modify(host, a -> a.with(id, new Claim(1, 512, 1)));
    }

    /** Runs the controller for {@code seconds}, ten ticks a second, with {@code alive} renewing every second. */
    void run(double seconds, String... alive) {
        for (int i = 0; i < Math.round(seconds * 10); i++) {
            clock.advance(Duration.ofMillis(100));
            if (i % 10 == 9) {
                for (String h : alive) {
                    beat(h);
                }
            }
            res.sync();
            ha.tick();
            res.sync();
        }
    }

    Server server(String id) {
        return res.servers().get(id).orElseThrow().value();
    }

    String state(String host) {
        return res.hostHa().get(host).map(v -> v.value().state()).orElse("up");
    }

    List<String> events(String host) {
        return res.hostEvents().byIndex(Resources.BY_HOST, host).stream().map(Versioned::value)
                .sorted(Comparator.comparing(HostEvent::key)).map(e -> e.from() + "->" + e.to()).toList();
    }

    @Test
    void aSilentHostWithAWatchdogIsFencedAtItsDeadlineAndItsHaGuestRestartsElsewhere() {
        host("h1", 4000);
        host("h2", 4000);
        server("ha1", "h1", Map.of("HA_Enabled", "True"));
        server("plain", "h1", Map.of());
        res.sync();
        ha.tick();
        run(10.5, "h2");
        assertThat(state("h1")).as("not before ttl 5 s + max(4 s, 4 s) + margin 2 s").isEqualTo("fencing");
        assertThat(server("ha1").status().host()).isEqualTo("h1");
        run(1, "h2");
        assertThat(state("h1")).isEqualTo("fenced");
        assertThat(events("h1")).containsExactly("up->suspect", "suspect->down", "down->fencing", "fencing->fenced");
        Server s = server("ha1");
        assertThat(s.status().host()).isEqualTo("h2");
        assertThat(s.status().epoch()).isEqualTo(2);
        assertThat(s.status().taskState()).isEqualTo(TaskState.REBUILDING);
        assertThat(s.status().apiStatus()).isEqualTo("REBUILD");
        assertThat(res.allocations().get("h2").orElseThrow().value().claims()).containsKey("ha1");
        assertThat(res.allocations().get("h1").orElseThrow().value().claims()).doesNotContainKey("ha1");
        assertThat(res.haRecoveries().list()).isEmpty();
        Server p = server("plain");
        assertThat(p.status().apiStatus()).isEqualTo("SHUTOFF");
        assertThat(p.spec().power()).isEqualTo(PowerIntent.OFF);
        var evac = res.instanceActions().byIndex(Resources.BY_SERVER, "ha1").stream().map(Versioned::value)
                .filter(a -> a.action().equals(InstanceAction.EVACUATE)).findFirst().orElseThrow();
        assertThat(evac.events()).extracting(InstanceAction.Event::event).containsExactly("ha_host_fenced", "ha_restart_elsewhere");
        assertThat(res.hostHa().get("h1").orElseThrow().value().reason()).contains("self-fence deadline passed");
        assertThat(fenced).isEmpty();
    }

    /** A storage fence that records what it was asked, and fails while {@code up} is false. */
    static final class FakeStorageFence implements HaController.StorageFence {
        final List<String> calls = new ArrayList<>();
        boolean up;
        final java.util.Set<String> listed = new java.util.HashSet<>();

        public boolean enabled() {
            return true;
        }

        public boolean needed(Server s) {
            return s.spec().metadata().containsKey("ceph");
        }

        public List<String> entries(Host h) {
            calls.add("entries " + h.name());
            return List.of(h.name());
        }

        public String fence(List<String> entries) {
            calls.add("fence " + String.join(" ", entries));
            if (!up) {
                throw new IllegalStateException("ceph unreachable");
            }
            listed.addAll(entries);
            return "blocklisted " + entries;
        }

        public String unfence(List<String> entries) {
            calls.add("unfence " + String.join(" ", entries));
            entries.forEach(listed::remove);
            return "removed " + entries;
        }
    }

    @Test
    void aGuestOnCephRestartsElsewhereOnlyOnceItsHostIsOnTheBlocklistWhichIsLiftedWhenTheHostRejoinsEmpty() {
        ha.close();
        var storage = new FakeStorageFence();
        ha = new HaController(res, leader, HaSettings.defaults(), SchedulerConfig.defaults(), credentials, (t, token, mayAct) -> {
            throw new AssertionError("no BMC here");
        }, (host, reports) -> { }, Duration.ofMillis(100), Runnable::run, storage, Runnable::run);
        host("h1", 4000);
        host("h2", 4000);
        server("onceph", "h1", Map.of("HA_Enabled", "True", "ceph", "yes"));
        server("onfile", "h1", Map.of("HA_Enabled", "True"));
        res.sync();
        ha.tick();
        run(11.5, "h2");
        assertThat(state("h1")).isEqualTo("fenced");
        // Ceph refused: the guest on Ceph waits, the other one (self-fence is enough for it) does not
        assertThat(storage.calls).contains("fence h1");
        assertThat(server("onceph").status().host()).isEqualTo("h1");
        assertThat(server("onfile").status().host()).isEqualTo("h2");
        storage.up = true;
        run(0.3, "h2");
        assertThat(server("onceph").status().host()).isEqualTo("h2");
        assertThat(events("h1")).endsWith("fencing->fenced", "fenced->storage-fenced");
        assertThat(storage.listed).containsExactly("h1");
        // recorded with the host's status, for whoever leads when it comes back
        assertThat(res.hostHa().get("h1").orElseThrow().value().storageFence()).containsExactly("h1");

        // back, with nothing running: it rejoins and may write again
        run(1.5, "h1", "h2");
        assertThat(state("h1")).isEqualTo("up");
        assertThat(storage.calls).last().isEqualTo("unfence h1");
        assertThat(storage.listed).isEmpty();
        assertThat(res.hostHa().get("h1").orElseThrow().value().storageFence()).isEmpty();
        assertThat(events("h1")).contains("fenced->storage-unfenced");
    }

    @Test
    void aHostWithABmcIsPoweredOffWithItsOwnCredentialsAndFencedAtOnce() {
        twoHostsWithAnHaGuestOnH1WithABmc();
        run(5.5, "h2");
        assertThat(fenced).singleElement().satisfies(t -> {
            assertThat(t.password()).isEqualTo("s3cret");
            assertThat(t.port()).isEqualTo(6230);
        });
        run(0.3, "h2");
        assertThat(state("h1")).isEqualTo("fenced");
        assertThat(res.hostHa().get("h1").orElseThrow().value().reason()).contains("BMC confirmed power off");
        assertThat(server("ha1").status().host()).isEqualTo("h2");
        assertThat(events("h1")).contains("fencing->power-off", "power-off->off", "fencing->fenced");
    }

    /**
     * The power-off thread was paused after the decision (the BMC slow to answer its status, a GC
     * pause): the host renewed meanwhile, so the token asked right before the cut says no.
     */
    @Test
    void aHostThatRenewsWhileItsBmcIsAskedIsNotPoweredOff() {
        twoHostsWithAnHaGuestOnH1WithABmc();
        beforeCut = () -> {
            batchBeat("h1", "h2");
            res.sync();
        };
        run(5.5, "h2");
        assertThat(fenced).isEmpty();
        assertThat(events("h1")).doesNotContain("fencing->fenced");
        beforeCut = () -> { };
        run(1.5, "h1", "h2");
        assertThat(state("h1")).isEqualTo("up");
        assertThat(server("ha1").status().host()).isEqualTo("h1");
    }

    void twoHostsWithAnHaGuestOnH1WithABmc() {
        host("h1", 0);
        host("h2", 0);
        bmc("h1");
        server("ha1", "h1", Map.of("HA_Enabled", "True"));
        res.sync();
        ha.tick();
    }

    long batch;

    void bmc(String host) {
        res.repo(Kinds.HOST_HA_CONFIG).create(HostHaConfig.empty(host, clock.now())
                .withBmc(new HostHaConfig.Bmc("127.0.0.1", 6230, "admin", credentials.seal(host, "s3cret")), clock.now()));
    }

    /** One controller's batch of renewals, as the agent API writes it. */
    void batchBeat(String... hosts) {
        var m = new java.util.HashMap<String, Long>();
        for (String h : hosts) {
            m.put(h, ++seq);
        }
        store.put(Kinds.HOST_BEAT_BATCHES.key("c1"), res.repo(Kinds.HOST_BEAT_BATCHES)
                .encode(new io.halcyon.model.host.HostBeatBatch("c1", ++batch, m, clock.now())));
    }

    @Test
    void renewalsInAControllersBatchKeepAHostUpAndTheirSilenceIsFencedAsAnyOther() {
        host("h1", 0);
        host("h2", 0);
        bmc("h1");
        res.sync();
        ha.tick();
        for (int i = 0; i < 100; i++) {
            clock.advance(Duration.ofMillis(100));
            if (i % 10 == 9) {
                // the two hosts renew in batches only: their records stay as they were
                batchBeat("h1", "h2");
            }
            res.sync();
            ha.tick();
        }
        assertThat(state("h1")).isEqualTo("up");
        assertThat(fenced).isEmpty();
        for (int i = 0; i < 60; i++) {
            clock.advance(Duration.ofMillis(100));
            if (i % 10 == 9) {
                batchBeat("h2");
            }
            res.sync();
            ha.tick();
            res.sync();
        }
        assertThat(fenced).singleElement().satisfies(t -> assertThat(t.host()).isEqualTo("h1"));
        assertThat(state("h1")).isEqualTo("fenced");
        assertThat(state("h2")).isEqualTo("up");
    }

    @Test
    void aDeposedLeaderNeverReachesTheBmc() {
        host("h1", 0);
        host("h2", 0);
        bmc("h1");
        res.sync();
        ha.tick();
        run(4.9, "h2");
        // another controller is elected while this one still believes it leads (a pause, a partition)
        store.put("/halcyon/leader/controller", "other".getBytes(StandardCharsets.UTF_8));
        run(3, "h2");
        assertThat(fenced).as("the BMC is asked only after a write that succeeds while this leader leads").isEmpty();
        assertThat(state("h1")).isNotEqualTo("fenced");
    }

    @Test
    void aHostWithNeitherIsUnfenceableAndItsGuestsStay() {
        host("h1", 0);
        host("h2", 0);
        server("ha1", "h1", Map.of("HA_Enabled", "True"));
        res.sync();
        ha.tick();
        run(20, "h2");
        assertThat(state("h1")).isEqualTo("unfenceable");
        assertThat(res.hostHa().get("h1").orElseThrow().value().reason()).contains("no BMC and no watchdog");
        assertThat(server("ha1").status().host()).isEqualTo("h1");
        assertThat(server("ha1").status().epoch()).isEqualTo(1);
    }

    @Test
    void aServerDeletedOnAFencedHostIsFinishedForItsAbsentAgent() {
        host("h1", 4000);
        host("h2", 4000);
        server("plain", "h1", Map.of());
        res.sync();
        ha.tick();
        run(12, "h2");
        assertThat(state("h1")).isEqualTo("fenced");
        res.repo(Kinds.SERVERS).modify("plain", s -> s.withSpec(s.spec().withDeleted()));
        run(0.2, "h2");
        assertThat(gone).contains("h1:plain");
    }

    @Test
    void noRoomMeansErrorWithTheReasonThenRecoveryWhenRoomAppears() {
        host("h1", 4000);
        host("h2", 4000);
        res.repo(Kinds.HOSTS).modify("h2", h -> h.withEnabled(false, "full", clock.now()));
        server("ha1", "h1", Map.of("HA_Enabled", "True"));
        res.sync();
        ha.tick();
        run(12, "h2");
        Server s = server("ha1");
        assertThat(s.status().vmState()).isEqualTo(VmState.ERROR);
        assertThat(s.status().fault().message()).startsWith("No valid host for HA recovery");
        assertThat(res.haRecoveries().get("ha1")).isPresent();
        res.repo(Kinds.HOSTS).modify("h2", h -> h.withEnabled(true, null, clock.now()));
        run(0.3, "h2");
        assertThat(server("ha1").status().host()).isEqualTo("h2");
        assertThat(server("ha1").status().fault()).isNull();
    }

    @Test
    void anAntiAffinityMemberRestartsAwayFromItsSiblings() {
        host("h1", 4000);
        host("h2", 4000);
        host("h3", 4000);
        server("web1", "h1", Map.of("HA_Enabled", "True"));
        server("web2", "h2", Map.of("HA_Enabled", "True"));
        server("big", "h3", Map.of());
        res.repo(Kinds.SERVER_GROUPS).create(new io.halcyon.model.compute.ServerGroup("grp", "web", "p", "u",
                io.halcyon.model.compute.ServerGroup.ANTI_AFFINITY, List.of("web1", "web2"), clock.now()));
        res.sync();
        ha.tick();
        run(12, "h2", "h3");
        assertThat(state("h1")).isEqualTo("fenced");
        assertThat(server("web1").status().host()).isEqualTo("h3");
    }
}
