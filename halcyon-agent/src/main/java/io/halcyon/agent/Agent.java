package io.halcyon.agent;

import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.agent.driver.Observed;
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

    public record Settings(String host, Duration pollWait, Duration stopTimeout, Duration softRebootTimeout, Duration resyncInterval) {
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
    private final ImageCache images;
    private final HostRegistration registration;
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
    private final Map<String, String> faults = new HashMap<>();
    private final Map<String, GuestReport> lastSent = new HashMap<>();
    private boolean synced;

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
        this.driver = requireNonNull(driver, "driver is null");
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
        registerUntilDone();
        start("agent-loop", this::loop);
        start("agent-poll", this::poll);
        start("agent-report", this::sendReports);
        long renew = lease.renewIntervalMillis();
        schedules.add(timers.scheduleWithFixedDelay(this::heartbeat, renew, renew, TimeUnit.MILLISECONDS));
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

    private void heartbeat() {
        try {
            controller.heartbeat(settings.host(), lease.leaseId());
        } catch (ControllerClient.ApiError e) {
            if (e.status() == 404 || e.status() == 409) {
                log.warn("event=lease_lost host={} status={}", settings.host(), e.status());
                try {
                    lease = controller.register(registration);
                    log.info("event=reregistered host={}", settings.host());
                } catch (Exception re) {
                    log.warn("event=register_failed host={} error=\"{}\"", settings.host(), re.getMessage());
                }
            } else {
                log.warn("event=heartbeat_failed host={} error=\"{}\"", settings.host(), e.getMessage());
            }
        } catch (Exception e) {
            log.warn("event=heartbeat_failed host={} error=\"{}\"", settings.host(), e.getMessage());
        }
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
            for (Assignment a : ae.assignments().assignments()) {
                assigned.put(a.serverId(), a);
                known.add(a.serverId());
            }
            synced = true;
            for (String id : List.copyOf(known)) {
                plan(id);
            }
        } else if (e instanceof Changed c) {
            known.add(c.serverId());
            plan(c.serverId());
        } else if (e instanceof StepDone d) {
            busy.remove(d.serverId());
            if (d.error() != null) {
                int n = failures.merge(d.serverId(), 1, Integer::sum);
                log.warn("event=step_failed host={} server_id={} step={} attempt={} error=\"{}\"", settings.host(), d.serverId(),
                        d.step(), n, d.error().getMessage());
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

    private static String message(Exception e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** A spawn that kept failing: report the fault (the server goes to ERROR), then remove what was prepared. */
    private void cleanupAfterFailedSpawn(String id) {
        Assignment a = assigned.get(id);
        if (a != null) {
            queueReport(new GuestReport(id, a.epoch(), PowerState.NOSTATE, 0, false, faults.remove(id), 0));
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

    private void plan(String id) {
        if (!synced || busy.contains(id)) {
            return;
        }
        Assignment a = assigned.get(id);
        Observed o = driver.observe(id);
        GuestPlanner.Step step = GuestPlanner.next(a, o);
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
            case SPAWN -> driver.spawn(a, baseImage(a));
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
                    driver.spawn(a, baseImage(a));
                }
            }
            case HARD_REBOOT -> {
                driver.kill(id);
                driver.spawn(a, baseImage(a));
            }
            case DESTROY -> driver.destroy(id);
            case NONE -> { }
        }
    }

    private Path baseImage(Assignment a) throws Exception {
        if (!driver.needsImage()) {
            return null;
        }
        if (a.image() == null) {
            throw new IllegalStateException("server " + a.serverId() + " has no image to boot from");
        }
        return images.ensure(a.image());
    }

    private void report(String id, Assignment a, Observed o) {
        if (a == null) {
            return;
        }
        GuestReport r;
        if (o == null) {
            r = new GuestReport(id, a.epoch(), PowerState.NOSTATE, 0, a.deleted(), faults.remove(id), 0);
        } else {
            PowerState p = o.alive() ? o.power() : PowerState.SHUTDOWN;
            r = new GuestReport(id, o.epoch(), p, o.rebootDone(), false, faults.remove(id), o.qemuStartMillis());
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
