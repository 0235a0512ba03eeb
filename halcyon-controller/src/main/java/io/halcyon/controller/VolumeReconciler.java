package io.halcyon.controller;

import io.halcyon.api.image.ImageFiles;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerLifecycle;
import io.halcyon.model.compute.VmState;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.model.image.Image;
import io.halcyon.model.image.ImageStatus;
import io.halcyon.model.volume.Snapshot;
import io.halcyon.model.volume.SnapshotStatus;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeSource;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.runtime.ConflictException;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Leadership;
import io.halcyon.runtime.Reconciler;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Result;
import io.halcyon.runtime.Versioned;
import io.halcyon.storage.Backends;
import io.halcyon.storage.ImageData;
import io.halcyon.storage.StorageException;
import io.halcyon.storage.VolumeBackend;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Carries out volume and snapshot work recorded in the store: create, delete (with cascade),
 * extend, upload to an image, and removes the root disk of a server that is gone. Keys are
 * {@code volume/<id>}, {@code snapshot/<id>} and {@code rootdisk/<server id>}. Every
 * backend operation is idempotent and the status only moves on once it has succeeded, so a
 * controller that dies mid-way leaves work its successor simply redoes. Every write is fenced by
 * the leader's term.
 */
final class VolumeReconciler implements Reconciler {
    private static final Logger log = LoggerFactory.getLogger(VolumeReconciler.class);
    private static final long GIB = 1L << 30;
    static final Set<VolumeStatus> WORK = Set.of(VolumeStatus.CREATING, VolumeStatus.DOWNLOADING, VolumeStatus.DELETING,
            VolumeStatus.EXTENDING, VolumeStatus.UPLOADING);

    private final Resources res;
    private final Backends backends;
    private final ImageFiles imageFiles;
    private final Leadership leadership;
    private final Repository<Volume> volumes;
    private final Repository<Snapshot> snapshots;
    private final Repository<Image> images;
    private final Repository<Server> servers;
    private final Repository<HostAllocation> allocations;
    private final Repository<InstanceAction> actions;
    private volatile Instant leaderSince;

    VolumeReconciler(Resources res, Backends backends, ImageFiles imageFiles, Leadership leadership) {
        this.res = requireNonNull(res, "res is null");
        this.backends = requireNonNull(backends, "backends is null");
        this.imageFiles = requireNonNull(imageFiles, "imageFiles is null");
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.volumes = res.repo(Kinds.VOLUMES);
        this.snapshots = res.repo(Kinds.SNAPSHOTS);
        this.images = res.repo(Kinds.IMAGES);
        this.servers = res.repo(Kinds.SERVERS);
        this.allocations = res.repo(Kinds.ALLOCATIONS);
        this.actions = res.repo(Kinds.INSTANCE_ACTIONS);
        leadership.addListener(new Leadership.Listener() {
            @Override
            public void elected(long epoch) {
                // a little before now: everything this leader writes is newer
                leaderSince = res.clock().now().minusSeconds(1);
            }

            @Override
            public void deposed() {
                leaderSince = null;
            }
        });
    }

    static boolean needsWork(Volume v) {
        return WORK.contains(v.status());
    }

    static boolean needsWork(Snapshot s) {
        return s.status() == SnapshotStatus.CREATING || s.status() == SnapshotStatus.DELETING;
    }

    @Override
    public Result reconcile(String key) throws Exception {
        if (key.startsWith("volume/")) {
            return volume(key.substring(7));
        }
        if (key.startsWith("snapshot/")) {
            return snapshot(key.substring(9));
        }
        if (key.startsWith("rootdisk/")) {
            String id = key.substring(9);
            if (res.servers().get(id).isEmpty()) {
                backends.rootDisks().deleteRootDisk(id);
                log.info("event=root_disk_removed server_id={}", id);
            }
        }
        return Result.done();
    }

    private void commit(Txn.Builder txn) {
        TxnResult r = res.store().txn(txn.when(leadership.fence()).build());
        if (!r.succeeded()) {
            throw new ConflictException("volume state changed while the reconciler worked");
        }
        res.awaitRevision(r.revision());
    }

    private Result volume(String id) throws Exception {
        Optional<Versioned<Volume>> cur = res.volumes().get(id);
        if (cur.isEmpty() || !needsWork(cur.get().value())) {
            return Result.done();
        }
        // a handler can run before the rest of the volume's transaction (its image, its server) is in the cache
        res.awaitRevision(cur.get().revision());
        Volume v = cur.get().value();
        long rev = cur.get().revision();
        Optional<VolumeBackend> be = backends.get(v.backend());
        if (be.isEmpty()) {
            fail(cur.get(), v.status() == VolumeStatus.DELETING ? VolumeStatus.ERROR_DELETING : VolumeStatus.ERROR,
                    "Storage backend " + v.backend() + " is not configured on this controller.");
            return Result.done();
        }
        VolumeBackend backend = be.get();
        Instant now = res.clock().now();
        switch (v.status()) {
            case CREATING, DOWNLOADING -> {
                try {
                    var imageMeta = create(v, backend);
                    VolumeStatus next = v.attachments().isEmpty() ? VolumeStatus.AVAILABLE : VolumeStatus.ATTACHING;
                    Volume created = v.created(v.source().kind() == VolumeSource.Kind.IMAGE, imageMeta, now);
                    commit(Txn.builder().when(volumes.unchanged(id, rev)).onSuccess(volumes.put(created.withStatus(next, now))));
                    log.info("event=volume_created volume_id={} backend={} source={}", id, backend.name(), v.source().kind());
                } catch (StorageException e) {
                    log.warn("event=volume_create_failed volume_id={} error=\"{}\"", id, e.getMessage());
                    fail(cur.get(), VolumeStatus.ERROR, e.getMessage());
                }
            }
            case DELETING -> {
                if (v.cascade()) {
                    var left = res.snapshots().byIndex(Resources.BY_VOLUME, id);
                    if (!left.isEmpty()) {
                        return Result.after(Duration.ofMillis(200));
                    }
                }
                try {
                    backend.deleteVolume(id);
                    commit(Txn.builder().when(volumes.unchanged(id, rev)).onSuccess(volumes.deleteOp(id)));
                    log.info("event=volume_deleted volume_id={}", id);
                } catch (StorageException e) {
                    fail(cur.get(), VolumeStatus.ERROR_DELETING, e.getMessage());
                }
            }
            case EXTENDING -> {
                try {
                    backend.extend(id, (long) v.targetSizeGb() * GIB);
                    commit(Txn.builder().when(volumes.unchanged(id, rev)).onSuccess(volumes.put(v.withSize(v.targetSizeGb(), now))));
                    log.info("event=volume_extended volume_id={} size_gb={}", id, v.targetSizeGb());
                } catch (StorageException e) {
                    fail(cur.get(), VolumeStatus.ERROR_EXTENDING, e.getMessage());
                }
            }
            case UPLOADING -> upload(cur.get(), backend);
            default -> {
            }
        }
        return Result.done();
    }

    private Map<String, String> create(Volume v, VolumeBackend backend) throws StorageException {
        long size = (long) v.sizeGb() * GIB;
        if (!backend.volumeExists(v.id())) {
            long provisioned = 0;
            for (var other : res.volumes().list()) {
                if (other.value().backend().equals(backend.name()) && !other.value().id().equals(v.id())) {
                    provisioned += (long) other.value().sizeGb() * GIB;
                }
            }
            if (!backend.capacity().admits(provisioned, size)) {
                throw new StorageException("No valid backend was found. Insufficient free virtual space on " + backend.name()
                        + " for a " + v.sizeGb() + " GB volume.");
            }
        }
        var meta = new LinkedHashMap<String, String>();
        switch (v.source().kind()) {
            case BLANK -> backend.createBlank(v.id(), size);
            case IMAGE -> {
                Image image = res.images().get(v.source().id()).map(Versioned::value)
                        .orElseThrow(() -> new StorageException("Image " + v.source().id() + " no longer exists."));
                if (image.status() != ImageStatus.ACTIVE) {
                    throw new StorageException("Image " + image.id() + " is not active.");
                }
                backend.createFromImage(v.id(), imageData(image), size);
                meta.put("image_id", image.id());
                meta.put("image_name", image.name() == null ? "" : image.name());
                meta.put("checksum", image.checksum() == null ? "" : image.checksum());
                meta.put("disk_format", image.diskFormat());
                meta.put("container_format", image.containerFormat() == null ? "bare" : image.containerFormat());
                meta.put("size", String.valueOf(image.size()));
                meta.put("min_disk", String.valueOf(image.minDisk()));
                meta.put("min_ram", String.valueOf(image.minRam()));
            }
            case SNAPSHOT -> backend.createFromSnapshot(v.id(), v.source().id(), size);
            case VOLUME -> backend.createFromVolume(v.id(), v.source().id(), size);
        }
        return meta;
    }

    ImageData imageData(Image image) {
        return new ImageData(image.id(), image.diskFormat(), image.hashValue(), image.virtualSize() == null ? 0 : image.virtualSize(),
                imageFiles.path(image.id()));
    }

    /** A failed operation: the volume takes its error state, and a server waiting to boot from it fails its build. */
    private void fail(Versioned<Volume> cur, VolumeStatus status, String reason) {
        Volume v = cur.value();
        Instant now = res.clock().now();
        var txn = Txn.builder().when(volumes.unchanged(v.id(), cur.revision())).onSuccess(volumes.put(v.withError(status, reason, now)));
        if (status == VolumeStatus.ERROR) {
            for (var att : v.attachments()) {
                res.servers().get(att.serverId()).ifPresent(sv -> {
                    Server s = sv.value();
                    if (s.status().vmState() != VmState.BUILDING) {
                        return;
                    }
                    Server failed = ServerLifecycle.failBuild(s, "Build of instance " + s.id() + " aborted: volume " + v.id()
                            + " did not finish being created: " + reason, now);
                    txn.when(servers.unchanged(s.id(), sv.revision())).onSuccess(servers.put(failed));
                    String host = s.status().host();
                    if (host != null) {
                        res.allocations().get(host).filter(a -> a.value().claims().containsKey(s.id())).ifPresent(a ->
                                txn.when(allocations.unchanged(host, a.revision())).onSuccess(allocations.put(a.value().without(s.id()))));
                    }
                });
            }
        }
        commit(txn);
    }

    private void upload(Versioned<Volume> cur, VolumeBackend backend) throws IOException {
        Volume v = cur.value();
        Instant now = res.clock().now();
        var up = v.upload();
        Optional<Versioned<Image>> target = res.images().get(up.imageId());
        if (target.isEmpty() || target.get().value().status() == ImageStatus.ACTIVE) {
            commit(Txn.builder().when(volumes.unchanged(v.id(), cur.revision())).onSuccess(volumes.put(v.uploaded(now))));
            return;
        }
        Optional<ImageData> origin = Optional.empty();
        if (v.source().kind() == VolumeSource.Kind.IMAGE) {
            origin = res.images().get(v.source().id()).map(Versioned::value).map(this::imageData);
        }
        Path scratch = imageFiles.scratch(up.imageId());
        try {
            backend.exportToImage(v.id(), up.diskFormat(), origin, scratch);
            var stored = imageFiles.adopt(up.imageId(), scratch);
            long virtual = (long) v.sizeGb() * GIB;
            if (origin.isPresent() && stored.sha512().equals(origin.get().sha512())) {
                virtual = origin.get().virtualSize();
            }
            Image img = target.get().value().withData(ImageStatus.ACTIVE, up.diskFormat(), stored.size(), virtual, stored.md5(),
                    stored.sha512(), now);
            commit(Txn.builder().when(volumes.unchanged(v.id(), cur.revision()), images.unchanged(img.id(), target.get().revision()))
                    .onSuccess(volumes.put(v.uploaded(now)), images.put(img)));
            log.info("event=volume_uploaded volume_id={} image_id={} bytes={}", v.id(), img.id(), stored.size());
        } catch (StorageException | IOException e) {
            Files.deleteIfExists(scratch);
            log.warn("event=volume_upload_failed volume_id={} image_id={} error=\"{}\"", v.id(), up.imageId(), e.getMessage());
            commit(Txn.builder().when(volumes.unchanged(v.id(), cur.revision()), images.unchanged(up.imageId(), target.get().revision()))
                    .onSuccess(volumes.put(v.uploaded(now)), images.put(target.get().value().withStatus(ImageStatus.KILLED, now))));
        }
    }

    private Result snapshot(String id) {
        Optional<Versioned<Snapshot>> cur = res.snapshots().get(id);
        if (cur.isEmpty() || !needsWork(cur.get().value())) {
            return Result.done();
        }
        res.awaitRevision(cur.get().revision());
        Snapshot s = cur.get().value();
        Instant now = res.clock().now();
        Optional<Volume> volume = res.volumes().get(s.volumeId()).map(Versioned::value);
        String backendName = volume.map(Volume::backend).orElse(null);
        Optional<VolumeBackend> backend = backendName == null ? Optional.empty() : backends.get(backendName);
        try {
            if (s.status() == SnapshotStatus.CREATING) {
                if (backend.isEmpty()) {
                    throw new StorageException("volume " + s.volumeId() + " or its backend is gone");
                }
                backend.get().createSnapshot(id, s.volumeId());
                commit(Txn.builder().when(snapshots.unchanged(id, cur.get().revision()))
                        .onSuccess(snapshots.put(s.withStatus(SnapshotStatus.AVAILABLE, null, now))));
                log.info("event=snapshot_created snapshot_id={} volume_id={}", id, s.volumeId());
            } else {
                for (VolumeBackend b : backend.map(java.util.List::of).orElse(backends.all())) {
                    b.deleteSnapshot(id);
                }
                commit(Txn.builder().when(snapshots.unchanged(id, cur.get().revision())).onSuccess(snapshots.deleteOp(id)));
                log.info("event=snapshot_deleted snapshot_id={}", id);
            }
        } catch (StorageException e) {
            SnapshotStatus failed = s.status() == SnapshotStatus.CREATING ? SnapshotStatus.ERROR : SnapshotStatus.ERROR_DELETING;
            log.warn("event=snapshot_failed snapshot_id={} error=\"{}\"", id, e.getMessage());
            commit(Txn.builder().when(snapshots.unchanged(id, cur.get().revision()))
                    .onSuccess(snapshots.put(s.withStatus(failed, e.getMessage(), now))));
        }
        return Result.done();
    }

    /**
     * Temporary files older than this belong to no running operation: those written before this
     * controller became leader (its predecessor died or was fenced), and any older than half an hour.
     */
    Instant tempCutoff(Instant now) {
        Instant since = leaderSince;
        Instant halfHour = now.minus(Duration.ofMinutes(30));
        return since != null && since.isAfter(halfHour) ? since : halfHour;
    }

    /**
     * Removes files no record owns (left by a crash between steps, or by a server deleted while its
     * host was down) and stale temporary files. Only the leader sweeps.
     */
    void sweep() {
        if (!leadership.isLeader()) {
            return;
        }
        res.sync();
        for (VolumeBackend b : backends.all()) {
            try {
                for (String id : b.volumeIds()) {
                    if (res.volumes().get(id).isEmpty()) {
                        b.deleteVolume(id);
                        log.warn("event=orphan_removed backend={} kind=volume id={}", b.name(), id);
                    }
                }
                for (String id : b.snapshotIds()) {
                    if (res.snapshots().get(id).isEmpty()) {
                        b.deleteSnapshot(id);
                        log.warn("event=orphan_removed backend={} kind=snapshot id={}", b.name(), id);
                    }
                }
                if (b == backends.rootDisks()) {
                    for (String id : b.rootDiskIds()) {
                        if (res.servers().get(id).isEmpty()) {
                            b.deleteRootDisk(id);
                            log.warn("event=orphan_removed backend={} kind=root_disk id={}", b.name(), id);
                        }
                    }
                }
                b.cleanTemporary(tempCutoff(res.clock().now()));
            } catch (StorageException e) {
                log.warn("event=storage_sweep_failed backend={} error=\"{}\"", b.name(), e.getMessage());
            }
        }
    }
}
