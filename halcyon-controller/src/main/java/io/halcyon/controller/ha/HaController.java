package io.halcyon.controller.ha;

import io.halcyon.api.agent.AgentService;
import io.halcyon.config.Sealer;
import io.halcyon.ha.BmcOutcome;
import io.halcyon.ha.HaAction;
import io.halcyon.ha.HaMonitor;
import io.halcyon.ha.HaSettings;
import io.halcyon.model.agent.GuestReport;
import io.halcyon.model.compute.PowerState;
import io.halcyon.model.host.HaCluster;
import io.halcyon.model.host.HostHaConfig;
import io.halcyon.runtime.Leadership;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.scheduler.SchedulerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * Runs instance HA on the leader: every tick it reads the hosts and servers from the cache, asks
 * the {@link HaMonitor} of the current term what to do, and applies it ({@link HaWrites}); BMC
 * power-offs run on their own threads and come back as outcomes on a later tick. A new term gets a
 * new monitor, which watches every host for a full lease period before it may fence. Time is the
 * controller's monotonic clock. Deletions of servers on fenced hosts are finished here, since no
 * agent will report them gone.
 */
public final class HaController implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HaController.class);

    private final Resources res;
    private final Leadership leadership;
    private final HaSettings settings;
    private final SchedulerConfig scheduler;
    private final Sealer credentials;
    private final Fencer bmc;
    private final BiConsumer<String, List<GuestReport>> reportGone;
    private final Duration tick;
    private final HaWrites writes;
    private final ConcurrentLinkedQueue<BmcOutcome> outcomes = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "ha-tick"));
    private final Executor bmcPool;
    private final StorageFence storage;
    /** Hosts this leader has put on the storage blocklist since it was elected. */
    private final java.util.Set<String> storageFenced = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Hosts whose storage fence has been asked for and has not ended yet. */
    private final java.util.Set<String> storageFencing = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService storageSweeper = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "ha-storage-fence"));
    /** Runs the storage fence's calls, one at a time and in order, off the tick (a Ceph that hangs must not stall HA). */
    private final Executor storagePool;
    private HaMonitor monitor;
    private long term;
    /** The newest revision at which each host was heard renewing: its own record, or a controller's batch. */
    private final Map<String, Long> heard = new java.util.concurrent.ConcurrentHashMap<>();
    /** The directory of the hosts' heartbeats on the shared storage; null: not read. */
    private volatile java.nio.file.Path witness;
    /** Read by the BMC thread too (the check right before a power-off), written by the tick. */
    private final Map<String, String> witnessSeen = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, Long> witnessBeats = new java.util.HashMap<>();
    /** Per host: the heard value of the last tick and when (leader's ms) it last changed. */
    private final Map<String, long[]> heardTrack = new java.util.HashMap<>();
    private long witnessSweptAt = Long.MIN_VALUE / 2;
    private long witnessChangedAt = Long.MIN_VALUE / 2;

    /**
     * A fence below the hosts: their clients are refused by the storage itself (Ceph's OSD
     * blocklist). Applied to a host when it is declared fenced, and always before one of its
     * guests with disks on that storage is restarted elsewhere; lifted when it has rejoined empty.
     */
    public interface StorageFence {
        StorageFence NONE = new StorageFence() {
            @Override
            public boolean enabled() {
                return false;
            }

            @Override
            public boolean needed(io.halcyon.model.compute.Server s) {
                return false;
            }

            @Override
            public List<String> entries(io.halcyon.model.host.Host h) {
                return List.of();
            }

            @Override
            public String fence(List<String> entries) {
                return "no storage fence";
            }

            @Override
            public String unfence(List<String> entries) {
                return "no storage fence";
            }
        };

        boolean enabled();

        /** Whether the server has disks on the fenced storage, so it may not restart elsewhere before the fence is up. */
        boolean needed(io.halcyon.model.compute.Server s);

        /** The blocklist entries that fence the host's clients as the storage sees them now. */
        List<String> entries(io.halcyon.model.host.Host h) throws Exception;

        /** Puts the entries on the blocklist; returns what was done, for the host's events. */
        String fence(List<String> entries) throws Exception;

        String unfence(List<String> entries) throws Exception;
    }

    /**
     * Powers a host off through its BMC and says how that ended (the evidence included).
     * {@code mayAct} is the fencing token: asked immediately before the command that cuts the
     * power (after any status reads, which can take seconds against a slow BMC), and nothing is
     * cut when it says no.
     */
    public interface Fencer {
        BmcOutcome powerOff(BmcFencer.Target target, String token, java.util.function.BooleanSupplier mayAct);
    }

    public HaController(Resources res, Leadership leadership, HaSettings settings, SchedulerConfig scheduler, Sealer credentials,
                        Fencer bmc, AgentService agents, Duration tick) {
        this(res, leadership, settings, scheduler, credentials, bmc, agents::report, tick,
                Executors.newCachedThreadPool(r -> daemon(r, "ha-bmc")), StorageFence.NONE, null);
    }

    public HaController(Resources res, Leadership leadership, HaSettings settings, SchedulerConfig scheduler, Sealer credentials,
                        Fencer bmc, AgentService agents, Duration tick, io.halcyon.storage.Backends backends) {
        this(res, leadership, settings, scheduler, credentials, bmc, agents::report, tick,
                Executors.newCachedThreadPool(r -> daemon(r, "ha-bmc")), new CephFence(res, backends), null);
    }

    /** @param reportGone finishes the deletion of servers on a fenced host, as their agent's "gone" report would */
    HaController(Resources res, Leadership leadership, HaSettings settings, SchedulerConfig scheduler, Sealer credentials,
                 Fencer bmc, BiConsumer<String, List<GuestReport>> reportGone, Duration tick, Executor bmcPool, StorageFence storage,
                 Executor storagePool) {
        this.res = requireNonNull(res, "res is null");
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.settings = requireNonNull(settings, "settings is null").validated();
        this.scheduler = requireNonNull(scheduler, "scheduler is null");
        this.credentials = credentials;
        this.bmc = requireNonNull(bmc, "bmc is null");
        this.reportGone = requireNonNull(reportGone, "reportGone is null");
        this.tick = requireNonNull(tick, "tick is null");
        this.bmcPool = requireNonNull(bmcPool, "bmcPool is null");
        this.storage = requireNonNull(storage, "storage is null");
        this.storagePool = storagePool == null ? storageSweeper : storagePool;
        this.writes = new HaWrites(res, leadership, settings);
        // every version of every batch, in order, as the store wrote them: the cache keeps only the newest of each
        res.hostBeatBatches().addHandler((id, old, now) -> {
            if (now != null) {
                now.value().hosts().keySet().forEach(h -> heard.merge(h, now.revision(), Math::max));
            }
        });
        res.hostBeats().addHandler((id, old, now) -> {
            if (now != null) {
                heard.merge(id, now.revision(), Math::max);
            }
        });
    }

    private static Thread daemon(Runnable r, String name) {
        var t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Reads the hosts' heartbeats on the shared storage from {@code dir} (as this controller mounts it). */
    public void witness(java.nio.file.Path dir) {
        this.witness = dir;
    }

    /**
     * Reads the heartbeat files: every host's once per renewal interval, and every tick those of
     * hosts the control plane has not heard for a renewal interval (the ones whose fate hangs on it).
     * Returns whether this leader's view of them is live: some host's changed within three intervals.
     */
    private boolean readWitness(long now) {
        java.nio.file.Path dir = witness;
        if (dir == null) {
            return false;
        }
        long renew = settings.renewInterval().toMillis();
        boolean sweep = now - witnessSweptAt >= renew;
        if (sweep) {
            witnessSweptAt = now;
        }
        for (var v : res.hosts().list()) {
            String name = v.value().name();
            long h = Math.max(heard.getOrDefault(name, 0L), res.hostBeats().get(name).map(Versioned::revision).orElse(0L));
            long[] track = heardTrack.computeIfAbsent(name, k -> new long[] {h, now});
            if (track[0] != h) {
                track[0] = h;
                track[1] = now;
            }
            if (!sweep && now - track[1] < renew) {
                continue;
            }
            String c = io.halcyon.api.agent.Witness.read(dir, name);
            if (c != null && !c.equals(witnessSeen.get(name))) {
                witnessSeen.put(name, c);
                witnessBeats.merge(name, 1L, Long::sum);
                witnessChangedAt = now;
            }
        }
        return now - witnessChangedAt < 3 * renew;
    }

    public void start() {
        ticker.scheduleWithFixedDelay(this::safeTick, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
        if (storage.enabled()) {
            storageSweeper.scheduleWithFixedDelay(this::sweepStorageFences, 10, 10, TimeUnit.SECONDS);
        }
    }

    private void safeTick() {
        try {
            tick();
        } catch (RuntimeException e) {
            log.warn("event=ha_tick_failed error=\"{}\"", e.toString());
        }
    }

    void tick() {
        if (!leadership.isLeader()) {
            if (monitor != null) {
                log.info("event=ha_monitor_stopped term={}", term);
                monitor = null;
            }
            return;
        }
        long epoch = leadership.epoch();
        if (monitor == null || term != epoch) {
            monitor = new HaMonitor(settings, epoch);
            term = epoch;
            outcomes.clear();
            storageFenced.clear();
            witnessSeen.clear();
            witnessBeats.clear();
            heardTrack.clear();
            log.info("event=ha_monitor_started term={} watch_ms={}", epoch, settings.leaseTtl().toMillis());
        }
        var bmcOutcomes = new ArrayList<BmcOutcome>();
        for (BmcOutcome o; (o = outcomes.poll()) != null; ) {
            bmcOutcomes.add(o);
            writes.bmcOutcome(o);
        }
        boolean clusterDisarmed = res.haCluster().get(HaCluster.ID).map(v -> v.value().disarmed()).orElse(false);
        long now = res.clock().nanoTime() / 1_000_000;
        boolean witnessLive = readWitness(now);
        var hosts = HaInputs.hosts(res, scheduler, credentials != null, heard, witnessBeats);
        var heardAtDecision = new java.util.HashMap<String, Long>();
        hosts.forEach(h -> heardAtDecision.put(h.name(), h.heard()));
        var actions = monitor.tick(new HaMonitor.Tick(now, clusterDisarmed, hosts, guestsIfNeeded(hosts), bmcOutcomes, witnessLive));
        var confirmed = new java.util.HashMap<String, java.util.Optional<Map<String, Long>>>();
        for (HaAction a : actions) {
            try {
                String acts = a instanceof HaAction.PowerOff p ? p.host()
                        : a instanceof HaAction.Transition t && t.to() == io.halcyon.ha.HostHaState.FENCED ? t.host() : null;
                Map<String, Long> batches = Map.of();
                if (acts != null) {
                    var c = confirmed.computeIfAbsent(acts, h -> stillSilent(h, heardAtDecision.getOrDefault(h, 0L)));
                    if (c.isEmpty()) {
                        continue;
                    }
                    batches = c.get();
                }
                apply(a, batches, acts == null ? 0 : heardAtDecision.getOrDefault(acts, 0L));
            } catch (RuntimeException e) {
                log.warn("event=ha_action_failed action=\"{}\" error=\"{}\"", a, e.toString());
            }
        }
        finishDeletions();
        writes.dropStaleRecoveries();
    }

    /**
     * The servers, as the monitor needs them only for hosts on their way to being fenced or fenced
     * and for pending recoveries: while every host is up or in maintenance and nothing waits, a
     * tick does not walk every server (a host is down or fencing for ticks before it is fenced, so
     * the list is there by then).
     */
    private List<io.halcyon.ha.GuestInput> guestsIfNeeded(List<io.halcyon.ha.HostInput> hosts) {
        boolean steady = res.haRecoveries().size() == 0 && hosts.stream()
                .allMatch(h -> h.state() == io.halcyon.ha.HostHaState.UP || h.state() == io.halcyon.ha.HostHaState.MAINTENANCE);
        return steady ? List.of() : HaInputs.guests(res, settings);
    }

    /**
     * Before a host is powered off or declared fenced: a linearizable catch-up with the store, then
     * the host's renewals checked again. A renewal that landed since the decision (written in any
     * controller's batch or in its record) calls the action off; the next tick decides again.
     */
    private java.util.Optional<Map<String, Long>> stillSilent(String host, long heardAtDecision) {
        try {
            res.cache().sync(Duration.ofSeconds(2));
        } catch (RuntimeException e) {
            log.warn("event=ha_action_held host={} reason=\"the store could not confirm the host's silence: {}\"", host, e.toString());
            return java.util.Optional.empty();
        }
        // the batches checked are the ones the write declaring the host fenced then pins
        var batches = new java.util.HashMap<String, Long>();
        long now = res.hostBeats().get(host).map(Versioned::revision).orElse(0L);
        for (var b : res.hostBeatBatches().list()) {
            batches.put(b.value().controller(), b.revision());
            if (b.value().hosts().containsKey(host)) {
                now = Math.max(now, b.revision());
            }
        }
        if (now > heardAtDecision) {
            log.warn("event=ha_action_called_off host={} reason=\"a renewal landed after the decision (revision {}, decided on {})\"", host,
                    now, heardAtDecision);
            return java.util.Optional.empty();
        }
        java.nio.file.Path dir = witness;
        String fresh = dir == null ? null : io.halcyon.api.agent.Witness.read(dir, host);
        String seen = witnessSeen.get(host);
        if (fresh != null && seen != null && !seen.equals(fresh)) {
            log.warn("event=ha_action_called_off host={} reason=\"its heartbeat on the shared storage changed after the decision\"", host);
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(batches);
    }

    private void apply(HaAction a, Map<String, Long> batches, long heardAtDecision) {
        if (a instanceof HaAction.Transition t) {
            if (writes.transition(t, batches) && storage.enabled()) {
                if (t.to() == io.halcyon.ha.HostHaState.FENCED) {
                    requestStorageFence(t.host());
                } else if (t.from() == io.halcyon.ha.HostHaState.FENCED) {
                    storageFenced.remove(t.host());
                    storagePool.execute(() -> storageUnfence(t.host()));
                }
            }
        } else if (a instanceof HaAction.PowerOff p) {
            powerOff(p, heardAtDecision);
        } else if (a instanceof HaAction.Dispose d) {
            writes.dispose(d);
        } else if (a instanceof HaAction.Evacuate e) {
            var s = res.servers().get(e.serverId());
            if (storage.enabled() && s.isPresent() && storage.needed(s.get().value()) && !storageFenced.contains(e.from())) {
                // planned again on the next tick, by when the blocklist may be in place
                if (requestStorageFence(e.from())) {
                    log.warn("event=ha_restart_held server_id={} host={} reason=\"its disks are on Ceph and the host is not on the "
                            + "blocklist yet\"", e.serverId(), e.from());
                }
                return;
            }
            writes.evacuate(e);
        } else if (a instanceof HaAction.Unplaceable u) {
            writes.unplaceable(u);
        } else if (a instanceof HaAction.Alarm al) {
            writes.alarm(al);
        }
    }

    private void powerOff(HaAction.PowerOff p, long heardAtDecision) {
        HostHaConfig cfg = res.hostHaConfig().get(p.host()).map(Versioned::value).orElse(null);
        if (cfg == null || cfg.bmc() == null || credentials == null) {
            outcomes.add(new BmcOutcome(p.host(), p.token(), BmcOutcome.Result.FAILED, "no BMC configured"));
            return;
        }
        String password;
        try {
            password = credentials.open(p.host(), cfg.bmc().sealedPassword());
        } catch (IllegalArgumentException e) {
            outcomes.add(new BmcOutcome(p.host(), p.token(), BmcOutcome.Result.FAILED, e.getMessage()));
            return;
        }
        var target = new BmcFencer.Target(p.host(), cfg.bmc().address(), cfg.bmc().port(), cfg.bmc().username(), password);
        bmcPool.execute(() -> {
            // the fencing token, checked against the store on the thread that then asks the BMC
            if (!writes.powerOffStarted(p)) {
                outcomes.add(new BmcOutcome(p.host(), p.token(), BmcOutcome.Result.FAILED, "not the leader any more"));
                return;
            }
            // and again right before the power is cut: this thread may have been paused since (a GC pause, a stopped
            // process, a BMC slow to answer), and a host that renewed meanwhile, or a leader deposed meanwhile, cuts nothing
            outcomes.add(bmc.powerOff(target, p.token(), () -> writes.stillLeading("power-off of " + p.host() + ", token " + p.token())
                    && stillSilent(p.host(), heardAtDecision).isPresent()));
        });
    }

    /** Asks for the host's storage fence unless it is up or under way; true when this call asked. */
    private boolean requestStorageFence(String host) {
        if (storageFenced.contains(host) || !storageFencing.add(host)) {
            return false;
        }
        storagePool.execute(() -> {
            try {
                storageFence(host);
            } finally {
                storageFencing.remove(host);
            }
        });
        return true;
    }

    private boolean storageFence(String host) {
        var h = res.hosts().get(host);
        if (h.isEmpty()) {
            log.warn("event=storage_fence_failed host={} error=\"the host is not registered\"", host);
            return false;
        }
        if (!writes.stillLeading("storage fence of " + host)) {
            log.warn("event=storage_fence_failed host={} error=\"not the leader any more\"", host);
            return false;
        }
        try {
            List<String> entries = storage.entries(h.get().value());
            // recorded before they are added, so that whoever leads later can lift them
            if (!writes.storageEvent(host, null, null, old -> union(old, entries))) {
                log.warn("event=storage_fence_failed host={} error=\"its entries could not be recorded\"", host);
                return false;
            }
            String done = entries.isEmpty() ? "no client of the host holds a lock on its guests' images" : storage.fence(entries);
            storageFenced.add(host);
            writes.storageEvent(host, "storage-fenced", done, java.util.function.UnaryOperator.identity());
            log.warn("event=storage_fenced host={} detail=\"{}\"", host, done);
            return true;
        } catch (Exception e) {
            log.warn("event=storage_fence_failed host={} error=\"{}\"", host, e.getMessage());
            return false;
        }
    }

    private static List<String> union(List<String> a, List<String> b) {
        var out = new java.util.LinkedHashSet<>(a);
        out.addAll(b);
        return List.copyOf(out);
    }

    private void storageUnfence(String host) {
        var st = res.hostHa().get(host);
        if (st.isEmpty() || st.get().value().storageFence().isEmpty()) {
            return;
        }
        if (!writes.stillLeading("storage unfence of " + host)) {
            return;
        }
        List<String> entries = st.get().value().storageFence();
        try {
            String done = storage.unfence(entries);
            writes.storageEvent(host, "storage-unfenced", done + ": the host rejoined empty",
                    cur -> cur.stream().filter(e -> !entries.contains(e)).toList());
            log.info("event=storage_unfenced host={} detail=\"{}\"", host, done);
        } catch (Exception e) {
            // the sweep tries again
            log.warn("event=storage_unfence_failed host={} error=\"{}\"", host, e.getMessage());
        }
    }

    /**
     * Lifts the storage fence of hosts that rejoined while it could not be lifted (Ceph
     * unreachable, or a leader that died in between); only hosts up or in maintenance qualify.
     */
    private void sweepStorageFences() {
        if (!leadership.isLeader()) {
            return;
        }
        for (var st : res.hostHa().list()) {
            String state = st.value().state();
            String host = st.value().host();
            if (!"up".equals(state) && !"maintenance".equals(state) || storageFenced.contains(host) || st.value().storageFence().isEmpty()) {
                continue;
            }
            storageUnfence(host);
        }
    }

    /** Servers deleted while their host is fenced: nothing runs there, so their deletion is completed for the absent agent. */
    private void finishDeletions() {
        for (var h : res.hostHa().list()) {
            if (!"fenced".equals(h.value().state())) {
                continue;
            }
            var gone = new ArrayList<GuestReport>();
            for (var s : res.servers().byIndex(Resources.BY_HOST, h.value().host())) {
                if (s.value().spec().deleted()) {
                    gone.add(new GuestReport(s.value().id(), s.value().status().epoch(), PowerState.NOSTATE, 0, true, null, 0, List.of(),
                            Map.of()));
                }
            }
            if (!gone.isEmpty()) {
                reportGone.accept(h.value().host(), gone);
                log.info("event=ha_deletions_finished host={} servers={}", h.value().host(), gone.size());
            }
        }
    }

    @Override
    public void close() {
        ticker.shutdownNow();
        storageSweeper.shutdownNow();
        if (bmcPool instanceof ExecutorService e) {
            e.shutdownNow();
        }
    }
}
