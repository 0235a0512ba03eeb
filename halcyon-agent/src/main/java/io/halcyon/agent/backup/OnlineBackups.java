package io.halcyon.agent.backup;

import io.halcyon.agent.ControllerClient;
import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.BackupTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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

    /** Starts the assignment's backups not started yet, and reports again the finished ones the leader still waits for. */
    public void offer(Assignment a) {
        for (BackupTask t : a.backups()) {
            Outcome o = tasks.putIfAbsent(t.backupId(), RUNNING);
            if (o == null) {
                boolean root = a.rootDisk() != null && t.volumeId().equals(a.rootDisk().volumeId());
                pool.submit(() -> run(a.serverId(), root, t));
            } else if (o != RUNNING) {
                pool.submit(() -> report(t.backupId(), o));
            }
        }
    }

    private void run(String serverId, boolean root, BackupTask t) {
        Outcome o;
        try {
            log.info("event=online_backup_started host={} server_id={} backup_id={} volume_id={} parent={}", host, serverId, t.backupId(),
                    t.volumeId(), t.parentId());
            var index = driver.backup(serverId, root, t);
            log.info("event=online_backup_done host={} backup_id={} mode={} read={} stored={}", host, t.backupId(), index.mode(),
                    index.stats().bytesRead(), index.stats().bytesStored());
            o = new Outcome(true, null);
        } catch (Exception e) {
            log.warn("event=online_backup_failed host={} backup_id={} error=\"{}\"", host, t.backupId(), e.getMessage());
            o = new Outcome(false, e.getMessage() == null ? e.toString() : e.getMessage());
        }
        tasks.put(t.backupId(), o);
        report(t.backupId(), o);
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
