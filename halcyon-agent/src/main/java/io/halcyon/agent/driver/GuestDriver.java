package io.halcyon.agent.driver;

import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.DiskSpec;
import io.halcyon.model.agent.NicSpec;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

/**
 * How the agent runs guests on its host. Implementations keep what they need on disk so that a
 * restarted agent re-adopts running guests ({@link #discover}) instead of restarting them.
 * Every method may block; the agent calls them off its event loop, one operation per guest at a time.
 */
public interface GuestDriver {
    /** Guests present on this host (running or not) as found at agent start. */
    List<Observed> discover();

    /** The guest's current state, or null when nothing of it exists here. */
    Observed observe(String serverId);

    /**
     * Prepares the guest's root disk (an overlay of its base, which the caller has made sure
     * exists) and starts it with its volumes; returns once it runs.
     */
    void spawn(Assignment assignment) throws Exception;

    /** Asks the guest to power off (ACPI); true when it did within {@code timeout}. */
    boolean powerDown(String serverId, Duration timeout) throws Exception;

    /** Resets a running or powered-off guest in place and lets it run (the second half of a soft reboot). */
    void reset(String serverId, long rebootGeneration) throws Exception;

    /** Stops the guest's process; its disks stay. */
    void kill(String serverId) throws Exception;

    /**
     * The self-fence: SIGKILL every one of these guests at once, no asking first, and wait at most
     * {@code within} for them to be gone. Returns the ones still running after it (none, normally).
     */
    default java.util.Set<String> fenceKill(java.util.Collection<String> serverIds, Duration within) {
        var left = new java.util.HashSet<String>();
        for (String id : serverIds) {
            try {
                kill(id);
            } catch (Exception e) {
                left.add(id);
            }
        }
        return left;
    }

    /** Stops the guest and removes everything it had on this host, and the root disk it made. */
    void destroy(String serverId) throws Exception;

    /** Hot-plugs a volume into the running guest. */
    void attach(String serverId, DiskSpec volume) throws Exception;

    /** Hot-unplugs a volume from the running guest, waiting for the guest to let it go. */
    void detach(String serverId, String volumeId) throws Exception;

    /**
     * Takes a backup of some of a running guest's disks into the repository the tasks name, all at
     * one point in time while the guest keeps writing; returns what the repository recorded, in
     * the order of {@code disks}. Either every disk's backup is written or none is.
     */
    default java.util.List<io.halcyon.backup.repo.BackupIndex> backup(String serverId, java.util.List<DiskBackup> disks) throws Exception {
        throw new UnsupportedOperationException("this driver takes no backups of running guests");
    }

    /** @param rootDisk whether the disk is the guest's root disk (a boot volume) rather than an attached volume */
    record DiskBackup(boolean rootDisk, io.halcyon.model.agent.BackupTask task) {
    }

    /** Hot-plugs a NIC (its tap made and plugged into the host's network first). */
    void plugNic(String serverId, NicSpec nic) throws Exception;

    /** Hot-unplugs a NIC, waiting for the guest to let it go, and removes its tap. */
    void unplugNic(String serverId, String portId) throws Exception;

    /** The last {@code lines} lines of the guest's serial console (all when null or negative). */
    String console(String serverId, Integer lines) throws Exception;

    /** Whether guests boot from a local copy of their image (false only for simulated guests). */
    default boolean needsImage() {
        return true;
    }

    /** Called with a server id whenever that guest's state changes on its own (guest shutdown, QEMU exit). */
    void onChange(Consumer<String> listener);
}
