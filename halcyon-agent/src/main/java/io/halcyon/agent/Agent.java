package io.halcyon.agent;

import io.halcyon.agent.backup.OnlineBackups;
import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.agent.driver.Observed;
import io.halcyon.agent.ha.HaGuard;
import io.halcyon.agent.ha.StorageWitness;
import io.halcyon.agent.ha.Watchdog;
import io.halcyon.ha.RestartBudget;
import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.Assignments;
import io.halcyon.model.agent.GuestReport;
import io.halcyon.model.agent.HostRegistration;
import io.halcyon.model.agent.Registration;
import io.halcyon.model.agent.ReportAnswer;
import io.halcyon.model.compute.PowerState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * The host agent: one event loop per host, fed by the assignment long poll, driver notifications
 * (QMP events, QEMU exits), step completions and a resync timer. The loop owns all decision
 * state; slow work (image download, QEMU start, ACPI waits) runs on workers and comes back as
 * events. Before the first assignment list arrives it touches no guest, so a restarted agent
 * re-adopts running guests and never stops one by mistake.
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    private static final int SPAWN_ATTEMPTS = 3;

    /** {@code watchdog}: the host's watchdog device (null: none); it is armed once the agent has registered. */
    /** @param witness the directory on the shared storage for this host's heartbeat file; null: none */
    public record Settings(String host, Duration pollWait, Duration stopTimeout, Duration softRebootTimeout, Duration resyncInterval,
                           java.nio.file.Path watchdog, Duration watchdogTimeout, java.nio.file.Path witness) {
        public Settings(String host, Duration pollWait, Duration stopTimeout, Duration softRebootTimeout, Duration resyncInterval) {
            this(host, pollWait, stopTimeout, softRebootTimeout, resyncInterval, null, null, null);
        }
    }

    private sealed interface Event permits AssignmentsEvent, Changed, StepDone, Stale, Resync {
    }

    private record AssignmentsEvent(Assignments assignments) implements Event {
    }

    private record Changed(String serverId) implements Event {
    }

    private record StepDone(String serverId, GuestPlanner.Step step, Exception error) implements Event {
    }

    private record Stale(String serverId, long epoch, String reason) implements Event {
    }

    private record Resync() implements Event {
    }

    private final Settings settings;
    private final ControllerClient controller;
    private final GuestDriver driver;
    private final OnlineBackups onlineBackups;
    private final ImageCache images;
    private volatile HostRegistration registration;
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final ExecutorService workers;
    private final ScheduledExecutorService timers;
    private final boolean ownExecutors;
    private final List<java.util.concurrent.ScheduledFuture<?>> schedules = new ArrayList<>();
    private final Map<String, GuestReport> outbox = new LinkedHashMap<>();
    private final List<Thread> threads = new ArrayList<>();

    // loop-thread state
    private final Map<String, Assignment> assigned = new HashMap<>();
    private final Set<String> known = new HashSet<>();
    private final Set<String> busy = new HashSet<>();
    private final Map<String, Integer> failures = new HashMap<>();
    /** Guests whose start waits for a disk lease another QEMU holds: attempts so far. */
    private final Map<String, Integer> leaseWaits = new HashMap<>();
    private final Map<String, String> faults = new HashMap<>();
    private final Map<String, GuestReport> lastSent = new HashMap<>();
    private boolean synced;
    private long assignedRevision;
    private RestartBudget budget = new RestartBudget(3, Duration.ofMinutes(10));
    // guests the self-fence killed: their restart after the fence is cleared counts against the budget, so a flapping host is bounded
    private final Set<String> fenceKilled = ConcurrentHashMap.newKeySet();
    private volatile Set<String> haIds = Set.of();
    private volatile HaGuard guard;
    private volatile boolean witnessOn;
    private final java.util.concurrent.atomic.AtomicLong beatSeq = new java.util.concurrent.atomic.AtomicLong();
    // the newest revision a renewal's answer gave: the controller that takes the next one catches up with it first
    private final java.util.concurrent.atomic.AtomicLong beatSeen = new java.util.concurrent.atomic.AtomicLong();

    private final DeviceSync devices;

    private volatile Registration lease;
    private volatile boolean closed;

    public Agent(Settings settings, ControllerClient controller, GuestDriver driver, ImageCache images, HostRegistration registration) {
        this(settings, controller, driver, images, registration, Executors.newCachedThreadPool(r -> daemon(r, "agent-worker")),
                Executors.newScheduledThreadPool(2, r -> daemon(r, "agent-timer")), true);
    }

    /** With executors shared by many agents in one process (the simulated hosts of scale benchmarks). */
    public Agent(Settings settings, ControllerClient controller, GuestDriver driver, ImageCache images, HostRegistration registration,
                 ExecutorService workers, ScheduledExecutorService timers) {
        this(settings, controller, driver, images, registration, workers, timers, false);
    }

    private Agent(Settings settings, ControllerClient controller, GuestDriver driver, ImageCache images, HostRegistration registration,
                  ExecutorService workers, ScheduledExecutorService timers, boolean ownExecutors) {
        this.workers = requireNonNull(workers, "workers is null");
        this.timers = requireNonNull(timers, "timers is null");
        this.ownExecutors = ownExecutors;
        this.settings = requireNonNull(settings, "settings is null");
        this.controller = requireNonNull(controller, "controller is null");
        this.onlineBackups = new OnlineBackups(settings.host(), requireNonNull(driver, "driver is null"), controller);
        this.driver = requireNonNull(driver, "driver is null");
        this.devices = new DeviceSync(driver);
        this.images = requireNonNull(images, "images is null");
        this.registration = requireNonNull(registration, "registration is null");
    }

    private static Thread daemon(Runnable r, String name) {
        var t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    public void start() throws InterruptedException {
        for (Observed o : driver.discover()) {
            known.add(o.serverId());
        }
        driver.onChange(id -> events.add(new Changed(id)));
        Watchdog wd = null;
        if (settings.watchdog() != null) {
            try {
                // opened, verified and petted before registering: the leader counts with the timeout the device reported
                wd = Watchdog.open(settings.watchdog(), settings.watchdogTimeout());
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            registration = registration.withWatchdogTimeoutMillis(wd.timeout().toMillis());
        }
        StorageWitness witness = null;
        if (settings.witness() != null) {
            // written before registering: the controller looks for this boot's beat before it offers the witness
            witness = new StorageWitness(settings.witness(), settings.host(), registration.bootId());
            try {
                witness.beat();
            } catch (java.io.IOException e) {
                log.warn("event=witness_unwritable host={} file={} error=\"{}\"", settings.host(), witness.file(), e.toString());
            }
        }
        registerUntilDone();
        budget = new RestartBudget(lease.restartLimit(), Duration.ofMillis(Math.max(1, lease.restartWindowMillis())));
        long renew = lease.renewIntervalMillis();
        long selfFence = lease.selfFenceTimeoutMillis() > 0 ? lease.selfFenceTimeoutMillis() : Math.max(2 * renew, lease.leaseTtlMillis() - renew);
        witnessOn = witness != null && lease.witness();
        if (witness != null && !lease.witness()) {
            witness.close();
            log.warn("event=witness_not_read host={} file={} reason=\"the controller does not read this host's heartbeat there; "
                    + "a control-plane outage makes this host self-fence\"", settings.host(), witness.file());
        }
        guard = new HaGuard(settings.host(), Duration.ofMillis(renew), Duration.ofMillis(selfFence), lease.armed(), this::renew,
                this::killHaGuests, wd, witnessOn ? witness : null, () -> System.nanoTime() / 1_000_000);
        guard.start();
        start("agent-loop", this::loop);
        start("agent-poll", this::poll);
        start("agent-report", this::sendReports);
        schedules.add(timers.scheduleWithFixedDelay(() -> events.add(new Resync()), settings.resyncInterval().toMillis(),
                settings.resyncInterval().toMillis(), TimeUnit.MILLISECONDS));
        log.info("event=agent_started host={} adopted_guests={}", settings.host(), known.size());
    }

    private void start(String name, Runnable body) {
        var t = daemon(body, name + "-" + settings.host());
        threads.add(t);
        t.start();
    }

    public boolean registered() {
        return lease != null;
    }

    private void registerUntilDone() throws InterruptedException {
        long delay = 200;
        while (!closed) {
            try {
                lease = controller.register(registration);
                return;
            } catch (Exception e) {
                log.warn("event=register_failed host={} error=\"{}\" retry_ms={}", settings.host(), e.getMessage(), delay);
                Thread.sleep(delay);
                delay = Math.min(5000, delay * 2);
            }
        }
    }

    /** One lease renewal for the HA guard; a lost lease is re-registered first (a new boot of the agent keeps its id). */
    private HaGuard.Renewal renew(boolean armed, boolean afterFence) throws Exception {
        Duration timeout = Duration.ofMillis(Math.max(1000, 2 * lease.renewIntervalMillis()));
        try {
            return renewed(controller.heartbeat(settings.host(), lease.leaseId(), beatSeq.incrementAndGet(), armed, afterFence,
                    witnessOn, beatSeen.get(), timeout));
        } catch (ControllerClient.ApiError e) {
            if (e.status() != 404 && e.status() != 409) {
                throw e;
            }
            log.warn("event=lease_lost host={} status={}", settings.host(), e.status());
            lease = controller.register(registration);
            log.info("event=reregistered host={}", settings.host());
            return renewed(controller.heartbeat(settings.host(), lease.leaseId(), beatSeq.incrementAndGet(), armed, afterFence,
                    witnessOn, beatSeen.get(), timeout));
        }
    }

    private HaGuard.Renewal renewed(ControllerClient.Beat b) {
        beatSeen.accumulateAndGet(b.revision(), Math::max);
        return new HaGuard.Renewal(b.armed(), b.revision());
    }

    /**
     * The self-fence: SIGKILL every local HA guest at once, off the event loop (which may be the
     * thing that hangs); true when all are confirmed gone within the kill budget.
     */
    private boolean killHaGuests() {
        var ids = new ArrayList<String>();
        for (String id : haIds) {
            try {
                if (driver.observe(id) != null) {
                    ids.add(id);
                }
            } catch (Exception e) {
                // cannot tell: kill it anyway
                ids.add(id);
            }
        }
        Set<String> left = driver.fenceKill(ids, Duration.ofMillis(HaGuard.KILL_WAIT_MILLIS));
        fenceKilled.addAll(ids);
        for (String id : ids) {
            if (left.contains(id)) {
                log.error("event=self_fence_kill_failed host={} server_id={}", settings.host(), id);
            } else {
                log.warn("event=self_fence_killed host={} server_id={}", settings.host(), id);
            }
            events.add(new Changed(id));
        }
        return left.isEmpty();
    }

    private void poll() {
        long after = 0;
        while (!closed) {
            try {
                Assignments a = controller.assignments(settings.host(), after, settings.pollWait());
                after = a.revision();
                events.add(new AssignmentsEvent(a));
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                if (closed) {
                    return;
                }
                log.warn("event=poll_failed host={} error=\"{}\"", settings.host(), e.getMessage());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void loop() {
        while (!closed) {
            Event e;
            try {
                e = events.take();
            } catch (InterruptedException ie) {
                return;
            }
            try {
                handle(e);
            } catch (RuntimeException ex) {
                log.error("event=agent_loop_error host={} input={}", settings.host(), e, ex);
            }
        }
    }

    private void handle(Event e) {
        if (e instanceof AssignmentsEvent ae) {
            assigned.clear();
            var ha = new HashSet<String>();
            for (Assignment a : ae.assignments().assignments()) {
                assigned.put(a.serverId(), a);
                known.add(a.serverId());
                if (!a.backups().isEmpty()) {
                    onlineBackups.offer(a);
                }
                if (a.ha()) {
                    ha.add(a.serverId());
                }
            }
            haIds = Set.copyOf(ha);
            assignedRevision = ae.assignments().revision();
            synced = true;
            killMovedGuests();
            devices.pruneGiveUps(assigned);
            for (String id : List.copyOf(known)) {
                plan(id);
            }
        } else if (e instanceof Changed c) {
            known.add(c.serverId());
            plan(c.serverId());
        } else if (e instanceof StepDone d) {
            busy.remove(d.serverId());
            if (d.error() instanceof io.halcyon.agent.qemu.DiskLease.HeldException held) {
                // never a failure: the other writer's host is being fenced, and its QEMU's end frees the lease
                int n = leaseWaits.merge(d.serverId(), 1, Integer::sum);
                if (n == 1 || n % 30 == 0) {
                    log.warn("event=disk_lease_held host={} server_id={} waited_s={} detail=\"{}\"", settings.host(), d.serverId(), n - 1,
                            held.getMessage());
                }
                timers.schedule(() -> events.add(new Changed(d.serverId())), 1, TimeUnit.SECONDS);
                return;
            }
            if (leaseWaits.remove(d.serverId()) != null && d.error() == null) {
                log.info("event=disk_lease_acquired host={} server_id={}", settings.host(), d.serverId());
            }
            if (d.error() != null) {
                int n = failures.merge(d.serverId(), 1, Integer::sum);
                log.warn("event=step_failed host={} server_id={} step={} attempt={} error=\"{}\"", settings.host(), d.serverId(),
                        d.step(), n, d.error().getMessage());
                if (d.step() == GuestPlanner.Step.SYNC_VOLUMES || d.step() == GuestPlanner.Step.SYNC_NICS) {
                    // volume and NIC trouble never fails the server: retry with back-off (volumes are given up per volume)
                    timers.schedule(() -> events.add(new Changed(d.serverId())), Math.min(500L * n, 5000), TimeUnit.MILLISECONDS);
                    return;
                }
                boolean retry = d.step() == GuestPlanner.Step.SPAWN && n < SPAWN_ATTEMPTS;
                if (!retry) {
                    faults.put(d.serverId(), message(d.error()));
                    failures.remove(d.serverId());
                }
                if (d.step() == GuestPlanner.Step.SPAWN && !retry) {
                    cleanupAfterFailedSpawn(d.serverId());
                    return;
                }
                long delay = retry ? 500L * n : 0;
                timers.schedule(() -> events.add(new Changed(d.serverId())), delay, TimeUnit.MILLISECONDS);
                return;
            }
            failures.remove(d.serverId());
            plan(d.serverId());
        } else if (e instanceof Stale s) {
            Assignment a = assigned.get(s.serverId());
            if (a != null && a.epoch() <= s.epoch()) {
                log.warn("event=guest_stale host={} server_id={} reason=\"{}\"", settings.host(), s.serverId(), s.reason());
                assigned.remove(s.serverId());
            } else if (a == null) {
                log.warn("event=guest_stale host={} server_id={} reason=\"{}\"", settings.host(), s.serverId(), s.reason());
            }
            plan(s.serverId());
        } else if (e instanceof Resync) {
            lastSent.clear();
            for (String id : List.copyOf(known)) {
                plan(id);
            }
        }
    }

    static String message(Exception e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** A spawn that kept failing: report the fault (the server goes to ERROR), then remove what was prepared. */
    private void cleanupAfterFailedSpawn(String id) {
        Assignment a = assigned.get(id);
        if (a != null) {
            queueReport(new GuestReport(id, a.epoch(), PowerState.NOSTATE, 0, false, faults.remove(id), 0, List.of(), Map.of()));
        }
        busy.add(id);
        workers.execute(() -> {
            Exception err = null;
            try {
                driver.destroy(id);
            } catch (Exception ex) {
                err = ex;
            }
            events.add(new StepDone(id, GuestPlanner.Step.DESTROY, err));
        });
    }

    /**
     * Before anything else: a local guest whose placement moved on (another host, a newer epoch, or
     * gone) is killed here, synchronously, so it never runs beside its successor; the rest of its
     * removal follows as a normal step.
     */
    private void killMovedGuests() {
        for (String id : List.copyOf(known)) {
            if (busy.contains(id)) {
                continue;
            }
            Assignment a = assigned.get(id);
            Observed o = driver.observe(id);
            if (o != null && o.alive() && (a == null || a.epoch() > o.epoch())) {
                try {
                    driver.kill(id);
                    log.warn("event=moved_guest_killed host={} server_id={} local_epoch={} assigned_epoch={}", settings.host(), id,
                            o.epoch(), a == null ? "none" : a.epoch());
                } catch (Exception ex) {
                    log.error("event=moved_guest_kill_failed host={} server_id={} error=\"{}\"", settings.host(), id, ex.getMessage());
                }
            }
        }
    }

    private void plan(String id) {
        if (!synced || busy.contains(id)) {
            return;
        }
        Assignment a = assigned.get(id);
        Observed o = driver.observe(id);
        GuestPlanner.Step step = GuestPlanner.next(a, o, devices.givenUp(id).keySet());
        if ((step == GuestPlanner.Step.SPAWN || step == GuestPlanner.Step.HARD_REBOOT) && a != null && a.ha()
                && !guard.mayStartHaGuests(assignedRevision)) {
            // self-fenced: HA guests wait for an assignment list newer than the renewal that ended the isolation
            return;
        }
        // died: its QEMU had started and is gone without the agent stopping it (a spawn cut short is simply spawned again)
        boolean died = step == GuestPlanner.Step.SPAWN && o != null && !o.alive() && !o.stopped() && o.qemuStartMillis() > 0;
        boolean crashed = step == GuestPlanner.Step.HARD_REBOOT && o != null && o.power() == PowerState.CRASHED
                && a.rebootGeneration() <= o.rebootDone();
        if (died || crashed) {
            if (!a.ha()) {
                // not HA: like Nova, a guest whose QEMU died stays off; the report makes it SHUTOFF
                report(id, a, o);
                return;
            }
            boolean fenced = fenceKilled.remove(id);
            if (!budget.take(id, System.nanoTime() / 1_000_000)) {
                faults.put(id, fenced ? "This HA guest's host self-fenced (lost its control plane) more often than the in-place restart "
                        + "limit allows; it stays off" : "QEMU of this HA guest " + (died ? "died" : "crashed")
                        + " more often than the in-place restart limit allows; it stays off");
                log.warn("event=ha_restart_limit host={} server_id={}", settings.host(), id);
                report(id, a, o);
                return;
            }
            log.warn("event=ha_restart_in_place host={} server_id={} cause={}", settings.host(), id,
                    fenced ? "self_fence" : died ? "qemu_died" : "guest_crashed");
        }
        if (step == GuestPlanner.Step.NONE) {
            report(id, a, o);
            if (a == null && o == null) {
                known.remove(id);
                lastSent.remove(id);
            }
            return;
        }
        busy.add(id);
        log.info("event=guest_step host={} server_id={} step={}", settings.host(), id, step);
        workers.execute(() -> {
            Exception err = null;
            try {
                execute(step, a, id);
            } catch (Exception ex) {
                err = ex;
            }
            events.add(new StepDone(id, step, err));
        });
    }

    private void execute(GuestPlanner.Step step, Assignment a, String id) throws Exception {
        switch (step) {
            case SPAWN -> spawn(a);
            case POWER_OFF -> {
                if (!driver.powerDown(id, settings.stopTimeout())) {
                    log.warn("event=guest_powerdown_timeout server_id={} timeout_ms={}", id, settings.stopTimeout().toMillis());
                }
                driver.kill(id);
            }
            case SOFT_REBOOT -> {
                if (driver.powerDown(id, settings.softRebootTimeout())) {
                    driver.reset(id, a.rebootGeneration());
                } else {
                    log.warn("event=soft_reboot_fallback server_id={} reason=\"no ACPI shutdown within {} ms\"", id,
                            settings.softRebootTimeout().toMillis());
                    driver.kill(id);
                    spawn(a);
                }
            }
            case HARD_REBOOT -> {
                driver.kill(id);
                spawn(a);
            }
            case SYNC_VOLUMES -> devices.syncVolumes(a, id);
            case SYNC_NICS -> devices.syncNics(a, id);
            case DESTROY -> driver.destroy(id);
            case NONE -> { }
        }
    }

    private void spawn(Assignment a) throws Exception {
        if (driver.needsImage() && a.rootDisk() != null && a.rootDisk().base() != null) {
            images.prepareRoot(a.rootDisk(), a.image() == null ? null : a.image().diskFormat());
        }
        driver.spawn(a);
    }

    private void report(String id, Assignment a, Observed o) {
        if (a == null) {
            return;
        }
        var faultsOfVolumes = new HashMap<String, String>();
        devices.givenUp(id).forEach((v, g) -> faultsOfVolumes.put(v, g.message()));
        GuestReport r;
        if (o == null) {
            r = new GuestReport(id, a.epoch(), PowerState.NOSTATE, 0, a.deleted(), faults.remove(id), 0, attached(a, null),
                    faultsOfVolumes);
        } else {
            PowerState p = o.alive() ? o.power() : PowerState.SHUTDOWN;
            r = new GuestReport(id, o.epoch(), p, o.rebootDone(), false, faults.remove(id), o.qemuStartMillis(), attached(a, o),
                    faultsOfVolumes);
        }
        if (r.equals(lastSent.get(id)) && r.fault() == null) {
            return;
        }
        if (!a.deleted() && o == null && r.fault() == null) {
            return; // nothing to say until the guest exists
        }
        lastSent.put(id, r);
        queueReport(r);
    }

    /**
     * The volumes the guest has: those plugged into a running guest, or, when it is not running,
     * those it will boot with. A boot volume counts as long as the guest exists.
     */
    private static List<String> attached(Assignment a, Observed o) {
        var out = new java.util.TreeSet<String>();
        if (o == null) {
            return List.of();
        }
        if (o.alive()) {
            out.addAll(o.volumes());
        } else {
            out.addAll(GuestPlanner.wantedVolumes(a));
        }
        if (a.rootDisk() != null && a.rootDisk().volumeId() != null) {
            out.add(a.rootDisk().volumeId());
        }
        return List.copyOf(out);
    }

    private void queueReport(GuestReport r) {
        synchronized (outbox) {
            outbox.put(r.serverId(), r);
            outbox.notifyAll();
        }
    }

    private void sendReports() {
        while (!closed) {
            List<GuestReport> batch;
            synchronized (outbox) {
                while (outbox.isEmpty() && !closed) {
                    try {
                        outbox.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                batch = new ArrayList<>(outbox.values());
                outbox.clear();
            }
            try {
                List<ReportAnswer> answers = controller.report(settings.host(), batch);
                for (int i = 0; i < answers.size() && i < batch.size(); i++) {
                    if (answers.get(i).stale()) {
                        events.add(new Stale(batch.get(i).serverId(), batch.get(i).epoch(), answers.get(i).reason()));
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                log.warn("event=report_failed host={} reports={} error=\"{}\"", settings.host(), batch.size(), e.getMessage());
                synchronized (outbox) {
                    for (GuestReport r : batch) {
                        outbox.putIfAbsent(r.serverId(), r);
                    }
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        onlineBackups.close();
        if (guard != null) {
            guard.close();
        }
        schedules.forEach(f -> f.cancel(false));
        if (ownExecutors) {
            timers.shutdownNow();
        }
        for (Thread t : threads) {
            t.interrupt();
        }
        synchronized (outbox) {
            outbox.notifyAll();
        }
        if (ownExecutors) {
            workers.shutdownNow();
        }
        log.info("event=agent_stopped host={}", settings.host());
    }
}
