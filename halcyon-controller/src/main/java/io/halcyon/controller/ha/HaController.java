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
            public String fence(io.halcyon.model.host.Host h) {
                return "no storage fence";
            }

            @Override
            public String unfence(io.halcyon.model.host.Host h) {
                return "no storage fence";
            }

            @Override
            public boolean fenced(io.halcyon.model.host.Host h) {
                return false;
            }
        };

        boolean enabled();

        /** Whether the server has disks on the fenced storage, so it may not restart elsewhere before the fence is up. */
        boolean needed(io.halcyon.model.compute.Server s);

        /** Puts the host's clients on the blocklist; returns what was done, for the host's events. */
        String fence(io.halcyon.model.host.Host h) throws Exception;

        String unfence(io.halcyon.model.host.Host h) throws Exception;

        boolean fenced(io.halcyon.model.host.Host h) throws Exception;
    }

    /** Powers a host off through its BMC and says how that ended (the evidence included). */
    public interface Fencer {
        BmcOutcome powerOff(BmcFencer.Target target, String token);
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
    }

    private static Thread daemon(Runnable r, String name) {
        var t = new Thread(r, name);
        t.setDaemon(true);
        return t;
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
            log.info("event=ha_monitor_started term={} watch_ms={}", epoch, settings.leaseTtl().toMillis());
        }
        var bmcOutcomes = new ArrayList<BmcOutcome>();
        for (BmcOutcome o; (o = outcomes.poll()) != null; ) {
            bmcOutcomes.add(o);
            writes.bmcOutcome(o);
        }
        boolean clusterDisarmed = res.haCluster().get(HaCluster.ID).map(v -> v.value().disarmed()).orElse(false);
        long now = res.clock().nanoTime() / 1_000_000;
        var actions = monitor.tick(new HaMonitor.Tick(now, clusterDisarmed, HaInputs.hosts(res, scheduler, credentials != null),
                HaInputs.guests(res, settings), bmcOutcomes));
        for (HaAction a : actions) {
            try {
                apply(a);
            } catch (RuntimeException e) {
                log.warn("event=ha_action_failed action=\"{}\" error=\"{}\"", a, e.toString());
            }
        }
        finishDeletions();
        writes.dropStaleRecoveries();
    }

    private void apply(HaAction a) {
        if (a instanceof HaAction.Transition t) {
            if (writes.transition(t) && storage.enabled()) {
                if (t.to() == io.halcyon.ha.HostHaState.FENCED) {
                    requestStorageFence(t.host());
                } else if (t.from() == io.halcyon.ha.HostHaState.FENCED) {
                    storageFenced.remove(t.host());
                    storagePool.execute(() -> storageUnfence(t.host()));
                }
            }
        } else if (a instanceof HaAction.PowerOff p) {
            powerOff(p);
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

    private void powerOff(HaAction.PowerOff p) {
        HostHaConfig cfg = res.hostHaConfig().get(p.host()).map(Versioned::value).orElse(null);
        if (cfg == null || cfg.bmc() == null || credentials == null) {
            outcomes.add(new BmcOutcome(p.host(), p.token(), BmcOutcome.Result.FAILED, "no BMC configured"));
            return;
        }
        if (!writes.powerOffStarted(p)) {
            outcomes.add(new BmcOutcome(p.host(), p.token(), BmcOutcome.Result.FAILED, "not the leader any more"));
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
        bmcPool.execute(() -> outcomes.add(bmc.powerOff(target, p.token())));
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
        try {
            String done = storage.fence(h.get().value());
            storageFenced.add(host);
            writes.storageEvent(host, "storage-fenced", done);
            log.warn("event=storage_fenced host={} detail=\"{}\"", host, done);
            return true;
        } catch (Exception e) {
            log.warn("event=storage_fence_failed host={} error=\"{}\"", host, e.getMessage());
            return false;
        }
    }

    private void storageUnfence(String host) {
        var h = res.hosts().get(host);
        if (h.isEmpty()) {
            return;
        }
        try {
            String done = storage.unfence(h.get().value());
            writes.storageEvent(host, "storage-unfenced", done + ": the host rejoined empty");
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
            if (!"up".equals(state) && !"maintenance".equals(state) || storageFenced.contains(host)) {
                continue;
            }
            var h = res.hosts().get(host);
            try {
                if (h.isPresent() && storage.fenced(h.get().value())) {
                    storageUnfence(host);
                }
            } catch (Exception e) {
                log.warn("event=storage_fence_sweep_failed host={} error=\"{}\"", host, e.getMessage());
            }
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
