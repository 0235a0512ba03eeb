package io.halcyon.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.Ids;
import io.halcyon.model.compute.BlockDevice;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.VmState;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeAttachment;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Nova's os-volume_attachments. Attaching records the volume in the server's spec and reserves
 * the volume (attaching) in one transaction; the server's agent hot-plugs it and reports, which
 * makes the volume in-use. The request waits a few seconds for that so that scripts that attach
 * then use the volume work without polling; detach is the same in reverse.
 */
public final class VolumeAttachmentApi {
    private static final Logger log = LoggerFactory.getLogger(VolumeAttachmentApi.class);
    private static final Set<VmState> ATTACHABLE = Set.of(VmState.ACTIVE, VmState.STOPPED);

    private final Resources res;
    private final ServerService servers;
    private final Repository<Server> serverRepo;
    private final Repository<Volume> volumes;
    private final Repository<InstanceAction> actions;
    private final Duration settleWait;

    public VolumeAttachmentApi(Resources res, ServerService servers, Duration settleWait) {
        this.res = requireNonNull(res, "res is null");
        this.servers = requireNonNull(servers, "servers is null");
        this.serverRepo = res.repo(Kinds.SERVERS);
        this.volumes = res.repo(Kinds.VOLUMES);
        this.actions = res.repo(Kinds.INSTANCE_ACTIONS);
        this.settleWait = requireNonNull(settleWait, "settleWait is null");
    }

    public void register(Router.Group g) {
        g.get("/servers/{id}/os-volume_attachments", "os_compute_api:os-volumes-attachments:index", this::list);
        g.post("/servers/{id}/os-volume_attachments", "os_compute_api:os-volumes-attachments:create", this::attach);
        g.get("/servers/{id}/os-volume_attachments/{volume}", "os_compute_api:os-volumes-attachments:show", this::show);
        g.delete("/servers/{id}/os-volume_attachments/{volume}", "os_compute_api:os-volumes-attachments:delete", this::detach);
        g.put("/servers/{id}/os-volume_attachments/{volume}", "os_compute_api:os-volumes-attachments:update", r -> {
            servers.visible(r.auth(), r.param("id"));
            throw ApiException.notImplemented("Swapping volumes is not available in this Halcyon release.");
        });
    }

    static Map<String, Object> view(Server s, BlockDevice b) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", b.volumeId());
        m.put("serverId", s.id());
        m.put("volumeId", b.volumeId());
        m.put("device", b.device());
        return m;
    }

    private Reply list(ApiRequest r) {
        Server s = servers.visible(r.auth(), r.param("id")).value();
        var out = new ArrayList<Map<String, Object>>();
        for (BlockDevice b : s.spec().blockDevices()) {
            out.add(view(s, b));
        }
        return Reply.ok(Map.of("volumeAttachments", out));
    }

    private Reply show(ApiRequest r) {
        Server s = servers.visible(r.auth(), r.param("id")).value();
        for (BlockDevice b : s.spec().blockDevices()) {
            if (b.volumeId().equals(r.param("volume"))) {
                return Reply.ok(Map.of("volumeAttachment", view(s, b)));
            }
        }
        throw ApiException.notFound("Volume " + r.param("volume") + " is not attached to server " + s.id() + ".");
    }

    private Reply attach(ApiRequest r) throws InterruptedException {
        AuthContext ctx = r.auth();
        Policy.requireMember(ctx, "os_compute_api:os-volumes-attachments:create");
        JsonNode a = Body.object(r.json(), "volumeAttachment");
        Body.onlyKnown(a, Set.of("volumeId", "device", "tag", "delete_on_termination"));
        String volumeId = Body.string(a, "volumeId", 1, 255);
        String device = Body.optionalString(a, "device", 1, 255);
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Server> sv = servers.visible(ctx, r.param("id"));
            Server s = sv.value();
            if (s.spec().deleted() || !ATTACHABLE.contains(s.status().vmState()) || s.status().taskState() != null) {
                throw ApiException.conflict("Cannot 'attach_volume' instance " + s.id() + " while it is in vm_state "
                        + s.status().vmState().wire() + (s.status().taskState() == null ? "" : " and task_state " + s.status().taskState().wire()));
            }
            Versioned<Volume> vv = res.volumes().get(volumeId)
                    .filter(v -> ctx.isAdmin() || v.value().projectId().equals(ctx.projectId()))
                    .orElseThrow(() -> ApiException.notFound("Volume " + volumeId + " could not be found."));
            Volume v = vv.value();
            for (BlockDevice b : s.spec().blockDevices()) {
                if (b.volumeId().equals(volumeId)) {
                    throw ApiException.conflict("Volume " + volumeId + " is already attached to server " + s.id() + ".");
                }
            }
            if (!v.projectId().equals(s.projectId())) {
                throw ApiException.badRequest("Invalid volume: volume " + volumeId + " belongs to another project than the server.");
            }
            if (v.status() != VolumeStatus.AVAILABLE || v.attached()) {
                throw ApiException.badRequest("Invalid volume: volume " + volumeId + " status must be available, but it is "
                        + v.status().wire() + (v.attached() ? " and attached to server " + v.attachments().get(0).serverId() : "") + ".");
            }
            String dev = device != null && device.matches("(/dev/)?vd[b-z]") ? (device.startsWith("/dev/") ? device : "/dev/" + device)
                    : ServerService.nextDevice(s);
            for (BlockDevice b : s.spec().blockDevices()) {
                if (b.device().equals(dev)) {
                    dev = ServerService.nextDevice(s);
                }
            }
            Instant now = res.clock().now();
            var att = new VolumeAttachment(Ids.newId(), s.id(), dev, now);
            var devices = new ArrayList<>(s.spec().blockDevices());
            devices.add(new BlockDevice(volumeId, att.attachmentId(), dev, null, false));
            var action = new InstanceAction(r.requestId(), s.id(), "attach_volume", ctx.projectId(), ctx.userId(), now, now, null, List.of());
            TxnResult t = res.store().txn(Txn.builder()
                    .when(serverRepo.unchanged(s.id(), sv.revision()), volumes.unchanged(volumeId, vv.revision()))
                    .onSuccess(serverRepo.put(s.withSpec(s.spec().withBlockDevices(devices))),
                            volumes.put(v.withAttachments(List.of(att), VolumeStatus.ATTACHING, now)), actions.put(action))
                    .build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=volume_attach_requested server_id={} volume_id={} device={} request_id={}", s.id(), volumeId, dev, r.requestId());
                awaitVolume(volumeId, VolumeStatus.IN_USE);
                return Reply.ok(Map.of("volumeAttachment", view(s, devices.get(devices.size() - 1))));
            }
        }
        throw ApiException.conflict("Server or volume changed concurrently; retry.");
    }

    private Reply detach(ApiRequest r) throws InterruptedException {
        AuthContext ctx = r.auth();
        Policy.requireMember(ctx, "os_compute_api:os-volumes-attachments:delete");
        String volumeId = r.param("volume");
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Server> sv = servers.visible(ctx, r.param("id"));
            Server s = sv.value();
            BlockDevice bd = null;
            for (BlockDevice b : s.spec().blockDevices()) {
                if (b.volumeId().equals(volumeId)) {
                    bd = b;
                }
            }
            if (bd == null) {
                throw ApiException.notFound("Volume " + volumeId + " is not attached to server " + s.id() + ".");
            }
            if (bd.root()) {
                throw ApiException.badRequest("Cannot detach a root device volume.");
            }
            if (s.spec().deleted() || s.status().taskState() != null) {
                throw ApiException.conflict("Cannot 'detach_volume' instance " + s.id() + " while it is in task_state "
                        + (s.status().taskState() == null ? "deleting" : s.status().taskState().wire()));
            }
            Versioned<Volume> vv = res.volumes().get(volumeId).orElseThrow(() -> ApiException.notFound("Volume " + volumeId
                    + " could not be found."));
            Instant now = res.clock().now();
            var devices = new ArrayList<>(s.spec().blockDevices());
            devices.remove(bd);
            var action = new InstanceAction(r.requestId(), s.id(), "detach_volume", ctx.projectId(), ctx.userId(), now, now, null, List.of());
            var txn = Txn.builder().when(serverRepo.unchanged(s.id(), sv.revision()), volumes.unchanged(volumeId, vv.revision()))
                    .onSuccess(serverRepo.put(s.withSpec(s.spec().withBlockDevices(devices))), actions.put(action));
            if (s.status().host() == null) {
                // never placed: nothing to unplug
                txn.onSuccess(volumes.put(vv.value().withAttachments(List.of(), VolumeStatus.AVAILABLE, now)));
            } else {
                txn.onSuccess(volumes.put(vv.value().withStatus(VolumeStatus.DETACHING, now)));
            }
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=volume_detach_requested server_id={} volume_id={} request_id={}", s.id(), volumeId, r.requestId());
                awaitVolume(volumeId, VolumeStatus.AVAILABLE);
                return Reply.empty(202);
            }
        }
        throw ApiException.conflict("Server or volume changed concurrently; retry.");
    }

    /** Waits briefly for the agent to confirm; the operation completes on its own if it takes longer. */
    private void awaitVolume(String volumeId, VolumeStatus target) throws InterruptedException {
        long deadline = System.nanoTime() + settleWait.toNanos();
        while (System.nanoTime() < deadline) {
            var v = res.volumes().get(volumeId);
            if (v.isEmpty() || v.get().value().status() == target) {
                return;
            }
            Thread.sleep(25);
        }
    }
}
