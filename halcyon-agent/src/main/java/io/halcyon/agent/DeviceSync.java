package io.halcyon.agent;

import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.agent.driver.Observed;
import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.DiskSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * Brings a running guest's volumes and NICs to what its assignment says, for {@link Agent}: one
 * device failing does not hold up the others, and a volume that keeps failing is given up and
 * reported rather than retried for ever.
 */
final class DeviceSync {
    private static final Logger log = LoggerFactory.getLogger(DeviceSync.class);
    static final int VOLUME_ATTEMPTS = 3;

    /** A volume the agent stopped trying to plug in ({@code attach}) or unplug, and why; reported until the controller settles it. */
    record GiveUp(boolean attach, String message) {
    }

    private final GuestDriver driver;
    // per server and volume: failed tries so far, and what was given up (written by workers, pruned by the loop)
    private final Map<String, Map<String, Integer>> volumeTries = new ConcurrentHashMap<>();
    private final Map<String, Map<String, GiveUp>> giveUps = new ConcurrentHashMap<>();

    DeviceSync(GuestDriver driver) {
        this.driver = requireNonNull(driver, "driver is null");
    }

    /** The volumes of a server given up, and why. */
    Map<String, GiveUp> givenUp(String serverId) {
        return giveUps.getOrDefault(serverId, Map.of());
    }

    /** Unplugs the NICs the guest should no longer have, then plugs the ones it lacks; a failure is retried. */
    void syncNics(Assignment a, String id) throws Exception {
        Observed o = driver.observe(id);
        if (o == null || !o.alive()) {
            return;
        }
        Set<String> wanted = GuestPlanner.wantedNics(a);
        Exception retry = null;
        for (String p : o.nics()) {
            if (!wanted.contains(p)) {
                try {
                    driver.unplugNic(id, p);
                } catch (Exception e) {
                    retry = first(retry, e);
                }
            }
        }
        for (var n : a.nics()) {
            if (!o.nics().contains(n.portId())) {
                try {
                    driver.plugNic(id, n);
                } catch (Exception e) {
                    retry = first(retry, e);
                }
            }
        }
        if (retry != null) {
            throw retry;
        }
    }

    /**
     * Unplugs what the guest should no longer have, then plugs what it lacks. One volume failing
     * does not hold up the others. A volume that fails {@link #VOLUME_ATTEMPTS} times is given up
     * and reported, so the controller can put the attachment back as it was; other failures are
     * raised so the step is retried.
     */
    void syncVolumes(Assignment a, String id) throws Exception {
        Observed o = driver.observe(id);
        if (o == null || !o.alive()) {
            return;
        }
        Set<String> skip = givenUp(id).keySet();
        Set<String> wanted = GuestPlanner.wantedVolumes(a);
        Exception retry = null;
        for (String v : o.volumes()) {
            if (!wanted.contains(v) && !skip.contains(v)) {
                retry = first(retry, volumeStep(id, v, false, () -> driver.detach(id, v)));
            }
        }
        for (DiskSpec d : a.volumes()) {
            if (!o.volumes().contains(d.volumeId()) && !skip.contains(d.volumeId())) {
                retry = first(retry, volumeStep(id, d.volumeId(), true, () -> driver.attach(id, d)));
            }
        }
        if (retry != null) {
            throw retry;
        }
    }

    private interface VolumeOp {
        void run() throws Exception;
    }

    private static Exception first(Exception a, Exception b) {
        return a != null ? a : b;
    }

    /** Runs one plug or unplug; returns the failure to retry on, or null when it worked or was given up. */
    private Exception volumeStep(String serverId, String volumeId, boolean attach, VolumeOp op) {
        var tries = volumeTries.computeIfAbsent(serverId, k -> new ConcurrentHashMap<>());
        try {
            op.run();
            tries.remove(volumeId);
            return null;
        } catch (Exception e) {
            int n = tries.merge(volumeId, 1, Integer::sum);
            log.warn("event=volume_{}_failed server_id={} volume_id={} attempt={} error=\"{}\"", attach ? "attach" : "detach", serverId,
                    volumeId, n, Agent.message(e));
            if (n < VOLUME_ATTEMPTS) {
                return e;
            }
            tries.remove(volumeId);
            giveUps.computeIfAbsent(serverId, k -> new ConcurrentHashMap<>()).put(volumeId, new GiveUp(attach, Agent.message(e)));
            return null;
        }
    }

    /** Forgets what the controller has settled: a failed plug it took back, a failed unplug it restored. */
    void pruneGiveUps(Map<String, Assignment> assigned) {
        for (var entry : giveUps.entrySet()) {
            Assignment a = assigned.get(entry.getKey());
            if (a == null) {
                giveUps.remove(entry.getKey());
                volumeTries.remove(entry.getKey());
                continue;
            }
            Set<String> wanted = GuestPlanner.wantedVolumes(a);
            entry.getValue().entrySet().removeIf(g -> g.getValue().attach() != wanted.contains(g.getKey()));
        }
    }
}
