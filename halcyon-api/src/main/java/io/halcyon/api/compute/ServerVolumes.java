package io.halcyon.api.compute;

import io.halcyon.model.compute.BlockDevice;
import io.halcyon.model.compute.Server;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeAttachment;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * How a server's volumes follow the server: attachments confirmed or released as its agent
 * reports which volumes the guest really has, and every volume let go when the server is gone
 * (deleted if it was created to be deleted on termination). Writes go into the caller's
 * transaction, each guarded by the volume's revision.
 */
public final class ServerVolumes {
    private final Resources res;
    private final Repository<Volume> volumes;

    public ServerVolumes(Resources res) {
        this.res = requireNonNull(res, "res is null");
        this.volumes = res.repo(Kinds.VOLUMES);
    }

    /** Volumes that name this server in their attachments. */
    public List<Versioned<Volume>> attachedTo(String serverId) {
        return res.volumes().byIndex(Resources.BY_SERVER, serverId);
    }

    private static List<VolumeAttachment> without(Volume v, String serverId) {
        var out = new ArrayList<VolumeAttachment>();
        for (VolumeAttachment a : v.attachments()) {
            if (!a.serverId().equals(serverId)) {
                out.add(a);
            }
        }
        return out;
    }

    /**
     * What an agent report means for the server's volumes: the volume writes (already added to
     * the transaction) and, when a plug or unplug failed for good, the server's block devices
     * without the volume it could not plug in or with the one it could not unplug.
     */
    public record Sync(boolean changed, List<BlockDevice> blockDevices, Map<String, String> failures) {
    }

    /** Adds the volume updates an agent report implies. */
    public Sync onReport(Server s, Set<String> reported, Map<String, String> faults, Txn.Builder txn, Instant now) {
        var desired = new HashSet<String>();
        for (BlockDevice b : s.spec().blockDevices()) {
            desired.add(b.volumeId());
        }
        var devices = new ArrayList<>(s.spec().blockDevices());
        var failures = new LinkedHashMap<String, String>();
        boolean changed = false;
        for (Versioned<Volume> vv : attachedTo(s.id())) {
            Volume v = vv.value();
            Volume next = null;
            String fault = faults.get(v.id());
            if (desired.contains(v.id()) && reported.contains(v.id()) && v.status() == VolumeStatus.ATTACHING) {
                next = v.withStatus(VolumeStatus.IN_USE, now);
            } else if (desired.contains(v.id()) && !reported.contains(v.id()) && v.status() == VolumeStatus.ATTACHING && fault != null) {
                var left = without(v, s.id());
                next = v.withAttachments(left, left.isEmpty() ? VolumeStatus.AVAILABLE : v.status(), now);
                devices.removeIf(b -> b.volumeId().equals(v.id()));
                failures.put(v.id(), fault);
            } else if (!desired.contains(v.id()) && !reported.contains(v.id())) {
                var left = without(v, s.id());
                next = v.withAttachments(left, left.isEmpty() ? VolumeStatus.AVAILABLE : v.status(), now);
            } else if (!desired.contains(v.id()) && reported.contains(v.id()) && v.status() == VolumeStatus.DETACHING && fault != null) {
                // the guest kept the disk: it stays attached, as before the request
                next = v.withStatus(VolumeStatus.IN_USE, now);
                v.attachments().stream().filter(a -> a.serverId().equals(s.id())).findFirst()
                        .ifPresent(a -> devices.add(new BlockDevice(v.id(), a.attachmentId(), a.device(), null, false)));
                failures.put(v.id(), fault);
            }
            if (next != null) {
                txn.when(volumes.unchanged(v.id(), vv.revision())).onSuccess(volumes.put(next));
                changed = true;
            }
        }
        return new Sync(changed, failures.isEmpty() ? null : devices, failures);
    }

    /** The server is gone: detach everything, and delete what was created to be deleted with it. */
    public void onServerRemoved(Server s, Txn.Builder txn, Instant now) {
        var deleteWithServer = new HashSet<String>();
        for (BlockDevice b : s.spec().blockDevices()) {
            if (b.deleteOnTermination()) {
                deleteWithServer.add(b.volumeId());
            }
        }
        for (Versioned<Volume> vv : attachedTo(s.id())) {
            Volume v = vv.value();
            var left = without(v, s.id());
            Volume next;
            if (deleteWithServer.contains(v.id()) && left.isEmpty()) {
                next = v.withAttachments(left, v.status(), now).deleting(false, now);
            } else {
                VolumeStatus status = switch (v.status()) {
                    case ATTACHING, IN_USE, DETACHING -> left.isEmpty() ? VolumeStatus.AVAILABLE : v.status();
                    default -> v.status();
                };
                next = v.withAttachments(left, status, now);
            }
            txn.when(volumes.unchanged(v.id(), vv.revision())).onSuccess(volumes.put(next));
        }
    }
}
