package io.halcyon.agent.backup;

import io.halcyon.agent.ControllerClient;
import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.BackupTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static java.util.Objects.requireNonNull;

/**
 * Runs the backups the leader gives this host (volumes of guests running here), off the agent's
 * event loop, each once, and reports how each ended. A report that does not get through is sent
 * again when the task is seen again; a task the leader has taken back is simply no longer given.
 */
public final class OnlineBackups implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OnlineBackups.class);

    private final String host;
    private final GuestDriver driver;
    private final ControllerClient controller;
    private final ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "online-backup");
        t.setDaemon(true);
        return t;
    });
    /** Backup id → null while it runs, then its outcome until reported. */
    private final Map<String, Outcome> tasks = new ConcurrentHashMap<>();

    private record Outcome(boolean ok, String error) {
    }

    private static final Outcome RUNNING = new Outcome(false, "running");

    public OnlineBackups(String host, GuestDriver driver, ControllerClient controller) {
        this.host = requireNonNull(host, "host is null");
        this.driver = requireNonNull(driver, "driver is null");
        this.controller = requireNonNull(controller, "controller is null");
    }

    /**
     * Starts the assignment's backups not started yet, the tasks of one server backup together,
     * and reports again the finished ones the leader still waits for.
     */
    public void offer(Assignment a) {
        var units = new LinkedHashMap<String, List<BackupTask>>();
        for (BackupTask t : a.backups()) {
            units.computeIfAbsent(t.groupId() != null ? t.groupId() : t.backupId(), k -> new ArrayList<>()).add(t);
        }
        for (List<BackupTask> unit : units.values()) {
            boolean fresh = unit.stream().noneMatch(t -> tasks.containsKey(t.backupId()));
            if (fresh && unit.size() < unit.get(0).groupSize()) {
                // the rest of the server backup is on its way (the controller's view showed part of one transaction)
                continue;
            }
            if (fresh) {
                unit.forEach(t -> tasks.put(t.backupId(), RUNNING));
                var disks = new ArrayList<GuestDriver.DiskBackup>();
                for (BackupTask t : unit) {
                    disks.add(new GuestDriver.DiskBackup(a.rootDisk() != null && t.volumeId().equals(a.rootDisk().volumeId()), t));
                }
                pool.submit(() -> run(a.serverId(), disks));
                continue;
            }
            for (BackupTask t : unit) {
                Outcome o = tasks.get(t.backupId());
                if (o != null && o != RUNNING) {
                    pool.submit(() -> report(t.backupId(), o));
                }
            }
        }
    }

    private void run(String serverId, List<GuestDriver.DiskBackup> disks) {
        Outcome o;
        List<String> ids = disks.stream().map(d -> d.task().backupId()).toList();
        try {
            log.info("event=online_backup_started host={} server_id={} backup_ids={} volume_ids={}", host, serverId, ids,
                    disks.stream().map(d -> d.task().volumeId()).toList());
            var indexes = driver.backup(serverId, disks);
            for (var index : indexes) {
                log.info("event=online_backup_done host={} backup_id={} mode={} read={} stored={}", host, index.id(), index.mode(),
                        index.stats().bytesRead(), index.stats().bytesStored());
            }
            o = new Outcome(true, null);
        } catch (Exception e) {
            log.warn("event=online_backup_failed host={} backup_ids={} error=\"{}\"", host, ids, e.getMessage());
            o = new Outcome(false, e.getMessage() == null ? e.toString() : e.getMessage());
        }
        for (String id : ids) {
            tasks.put(id, o);
        }
        for (String id : ids) {
            report(id, o);
        }
    }

    private void report(String backupId, Outcome o) {
        try {
            controller.backupOutcome(host, backupId, o.ok(), o.error());
        } catch (Exception e) {
            log.warn("event=online_backup_report_failed host={} backup_id={} error=\"{}\"", host, backupId, e.getMessage());
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
