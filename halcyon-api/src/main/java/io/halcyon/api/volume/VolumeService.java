package io.halcyon.api.volume;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.model.Ids;
import io.halcyon.model.image.Image;
import io.halcyon.model.image.ImageStatus;
import io.halcyon.model.volume.Snapshot;
import io.halcyon.model.volume.SnapshotStatus;
import io.halcyon.model.volume.Upload;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeQuota;
import io.halcyon.model.volume.VolumeSource;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.model.volume.VolumeType;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import static java.util.Objects.requireNonNull;

/**
 * Cinder's volume and snapshot operations. Each records the desired change with compare-and-swap
 * (a volume in "creating", "deleting", "extending" or "uploading"); the volume reconciler carries
 * it out on the storage backend, so a crash at any point leaves work that is finished later.
 */
public final class VolumeService {
    private static final Logger log = LoggerFactory.getLogger(VolumeService.class);
    private static final Set<VolumeStatus> DELETABLE = Set.of(VolumeStatus.AVAILABLE, VolumeStatus.ERROR, VolumeStatus.ERROR_EXTENDING,
            VolumeStatus.ERROR_DELETING);

    /** Cinder's sizes are gigabytes in an int. */
    static final long MAX_SIZE_GB = Integer.MAX_VALUE;

    private final Resources res;
    private final VolumeQuotas quotas;
    private final Repository<Volume> volumes;
    private final Repository<Snapshot> snapshots;
    private final Repository<Image> images;
    private final String defaultType;

    public VolumeService(Resources res, VolumeQuotas quotas, String defaultType) {
        this.res = requireNonNull(res, "res is null");
        this.defaultType = requireNonNull(defaultType, "defaultType is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.volumes = res.repo(Kinds.VOLUMES);
        this.snapshots = res.repo(Kinds.SNAPSHOTS);
        this.images = res.repo(Kinds.IMAGES);
    }

    public VolumeQuotas quotas() {
        return quotas;
    }

    public static ApiException volumeNotFound(String id) {
        return ApiException.notFound("Volume " + id + " could not be found.");
    }

    public static ApiException snapshotNotFound(String id) {
        return ApiException.notFound("Snapshot " + id + " could not be found.");
    }

    public Versioned<Volume> visible(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "volume:get");
        res.sync();
        return res.volumes().get(id).filter(v -> ctx.isAdmin() || v.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> volumeNotFound(id));
    }

    public Versioned<Snapshot> visibleSnapshot(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "volume:get_snapshot");
        res.sync();
        return res.snapshots().get(id).filter(s -> ctx.isAdmin() || s.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> snapshotNotFound(id));
    }

    public VolumeType type(String nameOrId) {
        res.sync();
        var all = res.volumeTypes().list().stream().map(Versioned::value).toList();
        if (nameOrId == null || nameOrId.isEmpty()) {
            return all.stream().filter(t -> t.name().equals(defaultType)).findFirst()
                    .or(() -> all.stream().min(Comparator.comparing(VolumeType::name)))
                    .orElseThrow(() -> ApiException.unavailable("No volume type is configured."));
        }
        return all.stream().filter(t -> t.id().equals(nameOrId) || t.name().equals(nameOrId)).findFirst()
                .orElseThrow(() -> ApiException.notFound("Volume type with name " + nameOrId + " could not be found."));
    }

    public record CreateRequest(String name, String description, Integer sizeGb, String type, String availabilityZone,
                                Map<String, String> metadata, String imageId, String snapshotId, String sourceVolumeId,
                                boolean multiattach) {
    }

    /** Checks and records a new volume; with {@code txnExtra} the same transaction may also create a server (boot from volume). */
    public Volume prepare(AuthContext ctx, CreateRequest req) {
        Policy.requireMember(ctx, "volume:create");
        res.sync();
        if (req.multiattach()) {
            throw ApiException.badRequest("Multiattach volumes are not supported.");
        }
        if (req.availabilityZone() != null && !req.availabilityZone().equals("nova")) {
            throw ApiException.badRequest("Availability zone '" + req.availabilityZone() + "' is invalid.");
        }
        int sources = (req.imageId() != null ? 1 : 0) + (req.snapshotId() != null ? 1 : 0) + (req.sourceVolumeId() != null ? 1 : 0);
        if (sources > 1) {
            throw ApiException.badRequest("Give at most one of imageRef, snapshot_id and source_volid.");
        }
        VolumeType type = type(req.type());
        VolumeSource source = VolumeSource.blank();
        int minGb = 1;
        Integer size = req.sizeGb();
        String typeName = type.name();
        if (req.imageId() != null) {
            Image image = res.images().get(req.imageId()).map(Versioned::value)
                    .filter(i -> i.visibleTo(ctx.projectId(), ctx.isAdmin()))
                    .orElseThrow(() -> ApiException.badRequest("Invalid image identifier or unable to access requested image."));
            if (image.status() != ImageStatus.ACTIVE) {
                throw ApiException.badRequest("Image " + image.id() + " is not active.");
            }
            long virtual = image.virtualSize() == null ? 0 : image.virtualSize();
            // in longs: a header may claim sizes whose gigabytes do not fit an int
            long neededGb = Math.max(Math.max(1, (virtual >> 30) + ((virtual & ((1L << 30) - 1)) == 0 ? 0 : 1)), image.minDisk());
            if (neededGb > MAX_SIZE_GB) {
                throw ApiException.badRequest("Image " + image.id() + " has a virtual size of " + virtual
                        + " bytes, larger than any volume (" + MAX_SIZE_GB + " GB at most).");
            }
            minGb = (int) neededGb;
            if (size != null && size < minGb) {
                throw ApiException.badRequest("Image " + image.id() + " needs a volume of at least " + minGb + " GB; " + size
                        + " GB was requested.");
            }
            source = new VolumeSource(VolumeSource.Kind.IMAGE, image.id());
        } else if (req.snapshotId() != null) {
            Snapshot snap = res.snapshots().get(req.snapshotId()).map(Versioned::value)
                    .filter(s -> ctx.isAdmin() || s.projectId().equals(ctx.projectId()))
                    .orElseThrow(() -> snapshotNotFound(req.snapshotId()));
            if (snap.status() != SnapshotStatus.AVAILABLE) {
                throw ApiException.badRequest("Invalid snapshot: Originating snapshot status must be one of 'available' values");
            }
            minGb = snap.sizeGb();
            if (size == null) {
                size = minGb;
            }
            source = new VolumeSource(VolumeSource.Kind.SNAPSHOT, snap.id());
            typeName = req.type() == null ? res.volumes().get(snap.volumeId()).map(v -> v.value().volumeType()).orElse(typeName) : typeName;
        } else if (req.sourceVolumeId() != null) {
            Volume src = res.volumes().get(req.sourceVolumeId()).map(Versioned::value)
                    .filter(v -> ctx.isAdmin() || v.projectId().equals(ctx.projectId()))
                    .orElseThrow(() -> volumeNotFound(req.sourceVolumeId()));
            if (src.status() != VolumeStatus.AVAILABLE) {
                throw ApiException.badRequest("Invalid volume: Source volume status must be available, it is " + src.status().wire() + ".");
            }
            minGb = src.sizeGb();
            if (size == null) {
                size = minGb;
            }
            source = new VolumeSource(VolumeSource.Kind.VOLUME, src.id());
            typeName = req.type() == null ? src.volumeType() : typeName;
        }
        if (size == null) {
            throw ApiException.badRequest("Invalid input received: 'size' is a required property");
        }
        if (size < minGb) {
            throw ApiException.badRequest("Invalid input received: volume size " + size + " GB is smaller than its source (" + minGb + " GB).");
        }
        VolumeType finalType = type(typeName);
        checkQuota(ctx.projectId(), 1, size, 0);
        Instant now = res.clock().now();
        return new Volume(Ids.newId(), ctx.projectId(), ctx.userId(), req.name(), req.description(), size, finalType.name(),
                finalType.backend(), VolumeStatus.CREATING, source, req.metadata(), false, List.of(), Map.of(), null, null, null, false,
                now, now);
    }

    public void checkQuota(String project, int volumesDelta, int gigabytesDelta, int snapshotsDelta) {
        VolumeQuota q = quotas.of(project);
        var used = quotas.usage(project);
        if (q.perVolumeGigabytes() >= 0 && volumesDelta > 0 && gigabytesDelta > q.perVolumeGigabytes()) {
            throw ApiException.tooLarge("VolumeSizeExceedsLimit: Requested volume size " + gigabytesDelta
                    + "G is larger than maximum allowed limit " + q.perVolumeGigabytes() + "G.");
        }
        if (!VolumeQuota.allows(q.volumes(), used.volumes(), volumesDelta)) {
            throw ApiException.tooLarge("VolumeLimitExceeded: Maximum number of volumes allowed (" + q.volumes()
                    + ") exceeded for quota 'volumes'.");
        }
        if (!VolumeQuota.allows(q.snapshots(), used.snapshots(), snapshotsDelta)) {
            throw ApiException.tooLarge("SnapshotLimitExceeded: Maximum number of snapshots allowed (" + q.snapshots() + ") exceeded");
        }
        if (!VolumeQuota.allows(q.gigabytes(), used.gigabytes(), gigabytesDelta)) {
            throw ApiException.tooLarge("VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. "
                    + "Requested " + gigabytesDelta + "G, quota is " + q.gigabytes() + "G and " + used.gigabytes() + "G has been consumed.");
        }
    }

    public Volume create(AuthContext ctx, CreateRequest req, String requestId) {
        Volume v = prepare(ctx, req);
        commit(Txn.builder().when(volumes.absent(v.id())).onSuccess(volumes.put(v)).build(), "Volume id collision; retry.");
        log.info("event=volume_create_requested volume_id={} project_id={} size_gb={} source={} request_id={}", v.id(), v.projectId(),
                v.sizeGb(), v.source().kind(), requestId);
        return v;
    }

    private long commit(Txn txn, String conflict) {
        TxnResult r = res.store().txn(txn);
        if (!r.succeeded()) {
            throw ApiException.conflict(conflict);
        }
        res.awaitRevision(r.revision());
        return r.revision();
    }

    /** Compare-and-swap on one volume, retried from fresh state. */
    public Volume modify(AuthContext ctx, String id, String action, UnaryOperator<Volume> change) {
        Policy.requireMember(ctx, "volume:" + action);
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Volume> cur = visible(ctx, id);
            Volume next = change.apply(cur.value());
            TxnResult r = res.store().txn(Txn.builder().when(volumes.unchanged(id, cur.revision())).onSuccess(volumes.put(next)).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return next;
            }
        }
        throw ApiException.conflict("Volume " + id + " is changing too quickly; retry.");
    }

    /**
     * Deletes a volume (with its snapshots when {@code cascade}). {@code force} (admins only, the
     * os-force_delete action) skips the status check, for volumes stuck in a transient state; an
     * attached volume is never deleted.
     */
    public void delete(AuthContext ctx, String id, boolean cascade, boolean force, String requestId) {
        if (force) {
            Policy.requireAdmin(ctx, "volume_extension:volume_admin_actions:force_delete");
        } else {
            Policy.requireMember(ctx, "volume:delete");
        }
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Volume> cur = visible(ctx, id);
            Volume v = cur.value();
            if (v.status() == VolumeStatus.DELETING) {
                return;
            }
            if (v.attached() || (!force && !DELETABLE.contains(v.status()))) {
                throw ApiException.badRequest("Invalid volume: Volume status must be available or error or error_extending or "
                        + "error_deleting and must not be attached or have snapshots; it is " + v.status().wire()
                        + (v.attached() ? " and attached to server " + v.attachments().get(0).serverId() : "") + ".");
            }
            var snaps = res.snapshots().byIndex(Resources.BY_VOLUME, id);
            if (!snaps.isEmpty() && !cascade) {
                throw ApiException.badRequest("Invalid volume: Volume " + id + " still has " + snaps.size()
                        + " dependent snapshot(s); delete them first or delete with cascade.");
            }
            Instant now = res.clock().now();
            var txn = Txn.builder().when(volumes.unchanged(id, cur.revision())).onSuccess(volumes.put(v.deleting(cascade, now)));
            for (Versioned<Snapshot> s : snaps) {
                if (s.value().status() == SnapshotStatus.CREATING) {
                    throw ApiException.badRequest("Invalid volume: snapshot " + s.value().id() + " is still being created.");
                }
                if (s.value().status() != SnapshotStatus.DELETING) {
                    txn.when(snapshots.unchanged(s.value().id(), s.revision()))
                            .onSuccess(snapshots.put(s.value().withStatus(SnapshotStatus.DELETING, null, now)));
                }
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=volume_delete_requested volume_id={} cascade={} request_id={}", id, cascade, requestId);
                return;
            }
        }
        throw ApiException.conflict("Volume " + id + " is changing too quickly; retry.");
    }

    public Volume extend(AuthContext ctx, String id, int newSize) {
        return modify(ctx, id, "extend", v -> {
            if (v.status() != VolumeStatus.AVAILABLE) {
                throw ApiException.badRequest("Invalid volume: Volume status must be available to extend, but current status is: "
                        + v.status().wire() + ".");
            }
            if (newSize <= v.sizeGb()) {
                throw ApiException.badRequest("Invalid input received: New size for extend must be greater than current size. (current: "
                        + v.sizeGb() + ", extended: " + newSize + ").");
            }
            checkQuota(v.projectId(), 0, newSize - v.sizeGb(), 0);
            var q = quotas.of(v.projectId());
            if (q.perVolumeGigabytes() >= 0 && newSize > q.perVolumeGigabytes()) {
                throw ApiException.tooLarge("VolumeSizeExceedsLimit: Requested volume size " + newSize + "G is larger than maximum allowed limit "
                        + q.perVolumeGigabytes() + "G.");
            }
            return v.extending(newSize, res.clock().now());
        });
    }

    /** os-volume_upload_image: a queued image, filled by the volume reconciler. Returns the volume and the new image. */
    public record Uploaded(Volume volume, Image image) {
    }

    public Uploaded upload(AuthContext ctx, String id, String imageName, String diskFormat, String containerFormat, String visibility,
                           boolean force) {
        Policy.requireMember(ctx, "volume_extension:volume_actions:upload_image");
        if ("public".equals(visibility) && !ctx.isAdmin()) {
            throw ApiException.forbidden("Policy doesn't allow volume_extension:volume_actions:upload_public to be performed.");
        }
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Volume> cur = visible(ctx, id);
            Volume v = cur.value();
            if (v.status() == VolumeStatus.IN_USE && force) {
                throw ApiException.badRequest("Invalid volume: uploading an attached volume is not supported by the " + v.backend()
                        + " backend; detach it first.");
            }
            if (v.status() != VolumeStatus.AVAILABLE) {
                throw ApiException.badRequest("Invalid volume: Volume " + id + " status must be available or in-use (with force), but current "
                        + "status is: " + v.status().wire() + ".");
            }
            Instant now = res.clock().now();
            var image = new Image(Ids.newId(), imageName, ctx.projectId(), visibility == null ? "private" : visibility, ImageStatus.QUEUED,
                    diskFormat, containerFormat, null, null, null, null, null, 0, 0, false, false, List.of(), Map.of(), now, now);
            Volume next = v.uploading(new Upload(image.id(), diskFormat, v.status()), now);
            TxnResult r = res.store().txn(Txn.builder().when(volumes.unchanged(id, cur.revision()), images.absent(image.id()))
                    .onSuccess(volumes.put(next), images.put(image)).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=volume_upload_requested volume_id={} image_id={} format={}", id, image.id(), diskFormat);
                return new Uploaded(next, image);
            }
        }
        throw ApiException.conflict("Volume " + id + " is changing too quickly; retry.");
    }

    public Snapshot createSnapshot(AuthContext ctx, String volumeId, String name, String description, Map<String, String> metadata,
                                   boolean force, String requestId) {
        Policy.requireMember(ctx, "volume:create_snapshot");
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Volume> cur = visible(ctx, volumeId);
            Volume v = cur.value();
            if (v.status() == VolumeStatus.IN_USE) {
                throw ApiException.badRequest(force ? "Invalid volume: snapshots of attached volumes are not supported by the " + v.backend()
                        + " backend; detach the volume first." : "Invalid volume: Volume " + volumeId + " status must be available, "
                        + "but current status is: in-use.");
            }
            if (v.status() != VolumeStatus.AVAILABLE) {
                throw ApiException.badRequest("Invalid volume: Volume " + volumeId + " status must be available, but current status is: "
                        + v.status().wire() + ".");
            }
            checkQuota(v.projectId(), 0, v.sizeGb(), 1);
            Instant now = res.clock().now();
            var snap = new Snapshot(Ids.newId(), v.projectId(), ctx.userId(), v.id(), name, description, v.sizeGb(), SnapshotStatus.CREATING,
                    metadata, null, now, now);
            // the volume's revision guards against a delete or attach racing with the snapshot
            TxnResult r = res.store().txn(Txn.builder().when(volumes.unchanged(volumeId, cur.revision()), snapshots.absent(snap.id()))
                    .onSuccess(snapshots.put(snap), volumes.put(v.withStatus(v.status(), now))).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=snapshot_create_requested snapshot_id={} volume_id={} request_id={}", snap.id(), volumeId, requestId);
                return snap;
            }
        }
        throw ApiException.conflict("Volume " + volumeId + " is changing too quickly; retry.");
    }

    /** Deletes a snapshot; {@code force} (admins only) also one still being created. */
    public void deleteSnapshot(AuthContext ctx, String id, boolean force) {
        if (force) {
            Policy.requireAdmin(ctx, "volume_extension:snapshot_admin_actions:force_delete");
        } else {
            Policy.requireMember(ctx, "volume:delete_snapshot");
        }
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Snapshot> cur = visibleSnapshot(ctx, id);
            Snapshot s = cur.value();
            if (s.status() == SnapshotStatus.DELETING) {
                return;
            }
            if (s.status() == SnapshotStatus.CREATING && !force) {
                throw ApiException.badRequest("Invalid snapshot: Snapshot status must be available or error, but current status is: creating.");
            }
            TxnResult r = res.store().txn(Txn.builder().when(snapshots.unchanged(id, cur.revision()))
                    .onSuccess(snapshots.put(s.withStatus(SnapshotStatus.DELETING, null, res.clock().now()))).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return;
            }
        }
        throw ApiException.conflict("Snapshot " + id + " is changing too quickly; retry.");
    }

    public Snapshot updateSnapshot(AuthContext ctx, String id, UnaryOperator<Snapshot> change) {
        Policy.requireMember(ctx, "volume:update_snapshot");
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Snapshot> cur = visibleSnapshot(ctx, id);
            Snapshot next = change.apply(cur.value());
            TxnResult r = res.store().txn(Txn.builder().when(snapshots.unchanged(id, cur.revision())).onSuccess(snapshots.put(next)).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return next;
            }
        }
        throw ApiException.conflict("Snapshot " + id + " is changing too quickly; retry.");
    }

    /** The type volumes get when none is asked for. */
    public VolumeType defaultType() {
        return type(null);
    }

    public List<Volume> list(AuthContext ctx, boolean allTenants) {
        Policy.requireReader(ctx, "volume:get_all");
        res.sync();
        var src = allTenants && ctx.isAdmin() ? res.volumes().list() : res.volumes().byIndex(Resources.BY_PROJECT, ctx.projectId());
        var out = new ArrayList<Volume>();
        for (Versioned<Volume> v : src) {
            out.add(v.value());
        }
        out.sort(Comparator.comparing(Volume::createdAt).reversed().thenComparing(Volume::id));
        return out;
    }

    public List<Snapshot> listSnapshots(AuthContext ctx, boolean allTenants) {
        Policy.requireReader(ctx, "volume:get_all_snapshots");
        res.sync();
        var src = allTenants && ctx.isAdmin() ? res.snapshots().list() : res.snapshots().byIndex(Resources.BY_PROJECT, ctx.projectId());
        var out = new ArrayList<Snapshot>();
        for (Versioned<Snapshot> s : src) {
            out.add(s.value());
        }
        out.sort(Comparator.comparing(Snapshot::createdAt).reversed().thenComparing(Snapshot::id));
        return out;
    }

}
