package io.halcyon.api.volume;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.model.Ids;
import io.halcyon.model.volume.Backup;
import io.halcyon.model.volume.BackupStatus;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeSource;
import io.halcyon.model.volume.VolumeQuota;
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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * Cinder's backup operations. Each records the work with compare-and-swap on the backup and its
 * volume together (a backup "creating" and its volume "backing-up"; a backup "restoring" and
 * the target "restoring-backup"; a backup "deleting"); the leader's backup reconciler carries it
 * out against the repository, so a crash at any point leaves work that is finished later.
 */
public final class BackupService {
    private static final Logger log = LoggerFactory.getLogger(BackupService.class);

    private final Resources res;
    private final VolumeService volumes;
    private final Repository<Backup> backups;
    private final Repository<Volume> volumeRepo;
    private final boolean enabled;

    /** @param enabled whether the cloud has a backup repository; without one, creating a backup is refused */
    public BackupService(Resources res, VolumeService volumes, boolean enabled) {
        this.res = requireNonNull(res, "res is null");
        this.volumes = requireNonNull(volumes, "volumes is null");
        this.backups = res.repo(Kinds.BACKUPS);
        this.volumeRepo = res.repo(Kinds.VOLUMES);
        this.enabled = enabled;
    }

    void requireRepository() {
        if (!enabled) {
            throw ApiException.badRequest("Invalid backup: this cloud has no backup repository (controller.backup.repository).");
        }
    }

    public static ApiException notFound(String id) {
        return ApiException.notFound("Backup " + id + " could not be found.");
    }

    public Versioned<Backup> visible(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "backup:get");
        res.sync();
        return res.backups().get(id).filter(b -> ctx.isAdmin() || b.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> notFound(id));
    }

    public List<Backup> list(AuthContext ctx, boolean allProjects) {
        Policy.requireReader(ctx, "backup:get_all");
        res.sync();
        return res.backups().list().stream().map(Versioned::value).filter(b -> allProjects || b.projectId().equals(ctx.projectId()))
                .sorted(Comparator.comparing(Backup::createdAt).reversed().thenComparing(Backup::id)).toList();
    }

    /** Whether a newer backup of the same volume was taken relative to this one. */
    public boolean hasDependents(Backup b) {
        return res.backups().byIndex(Resources.BY_VOLUME, b.volumeId()).stream().anyMatch(o -> b.id().equals(o.value().parentId()));
    }

    public Backup create(AuthContext ctx, String volumeId, String name, String description, boolean incremental, boolean force,
                         boolean protect) {
        Policy.requireMember(ctx, "backup:create");
        requireRepository();
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Volume> cur = volumes.visible(ctx, volumeId);
            Volume v = cur.value();
            if (v.status() == VolumeStatus.IN_USE && !force) {
                throw ApiException.badRequest("Invalid volume: Backing up an in-use volume must use the force flag.");
            }
            if (v.status() != VolumeStatus.AVAILABLE && v.status() != VolumeStatus.IN_USE) {
                throw ApiException.badRequest("Invalid volume: Volume to be backed up must be available or in-use, but the current status is \""
                        + v.status().wire() + "\".");
            }
            String parent = null;
            if (incremental) {
                parent = latest(volumeId).map(Backup::id).orElseThrow(() -> ApiException.badRequest(
                        "Invalid backup: No backups available to do an incremental backup."));
            }
            checkBackupQuota(v.projectId(), 1, v.sizeGb());
            Instant now = res.clock().now();
            var b = new Backup(Ids.newId(), v.projectId(), ctx.userId(), volumeId, name, description, v.sizeGb(), BackupStatus.CREATING,
                    null, parent, v.bootable(), v.imageMetadata(), null, null, now, now, now, null, null, null, null, protect);
            TxnResult r = res.store().txn(Txn.builder().when(volumeRepo.unchanged(volumeId, cur.revision()), backups.absent(b.id()))
                    .onSuccess(volumeRepo.put(v.withStatus(VolumeStatus.BACKING_UP, now)), backups.put(b)).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=backup_requested backup_id={} volume_id={} incremental={} parent={}", b.id(), volumeId, incremental, parent);
                return b;
            }
        }
        throw ApiException.conflict("Volume " + volumeId + " is changing too quickly; retry.");
    }

    /**
     * A backup policy {@code policyId} takes: no caller to authorise, and nothing to refuse loudly:
     * empty when the volume cannot be backed up now (not available or in use, or changing). The
     * backup names its policy, whose retention alone may prune it.
     */
    public Optional<Backup> createFor(String volumeId, String policyId, String name, boolean incremental) {
        res.sync();
        Versioned<Volume> cur = res.volumes().get(volumeId).orElse(null);
        if (cur == null || (cur.value().status() != VolumeStatus.AVAILABLE && cur.value().status() != VolumeStatus.IN_USE)) {
            return Optional.empty();
        }
        Volume v = cur.value();
        try {
            checkBackupQuota(v.projectId(), 1, v.sizeGb());
        } catch (ApiException e) {
            log.warn("event=backup_policy_over_quota volume_id={} project_id={} reason=\"{}\"", volumeId, v.projectId(), e.getMessage());
            return Optional.empty();
        }
        String parent = incremental ? latest(volumeId).map(Backup::id).orElse(null) : null;
        Instant now = res.clock().now();
        var b = new Backup(Ids.newId(), v.projectId(), null, volumeId, name, "taken by a backup policy", v.sizeGb(), BackupStatus.CREATING,
                null, parent, v.bootable(), v.imageMetadata(), null, null, now, now, now, null, null, null, requireNonNull(policyId,
                "policyId is null"), false);
        TxnResult r = res.store().txn(Txn.builder().when(volumeRepo.unchanged(volumeId, cur.revision()), backups.absent(b.id()))
                .onSuccess(volumeRepo.put(v.withStatus(VolumeStatus.BACKING_UP, now)), backups.put(b)).build());
        if (!r.succeeded()) {
            return Optional.empty();
        }
        res.awaitRevision(r.revision());
        log.info("event=backup_by_policy backup_id={} volume_id={} policy_id={} parent={}", b.id(), volumeId, policyId, parent);
        return Optional.of(b);
    }

    /**
     * Deletes a backup the retention of policy {@code policyId} no longer keeps: only one that
     * policy took, and never a protected one. Every backup is complete in the repository, so one
     * that incrementals were taken relative to can go: they are re-parented to its parent.
     */
    public boolean prune(String id, String policyId) {
        res.sync();
        Versioned<Backup> cur = res.backups().get(id).orElse(null);
        if (cur == null || cur.value().status() != BackupStatus.AVAILABLE || !policyId.equals(cur.value().policyId())
                || cur.value().protectedBackup()) {
            return false;
        }
        Instant now = res.clock().now();
        var txn = Txn.builder().when(backups.unchanged(id, cur.revision()))
                .onSuccess(backups.put(cur.value().withStatus(BackupStatus.DELETING, null, now)));
        for (Versioned<Backup> c : res.backups().byIndex(Resources.BY_VOLUME, cur.value().volumeId())) {
            if (id.equals(c.value().parentId())) {
                txn.when(backups.unchanged(c.value().id(), c.revision())).onSuccess(backups.put(c.value().withParent(cur.value().parentId(), now)));
            }
        }
        TxnResult r = res.store().txn(txn.build());
        if (r.succeeded()) {
            res.awaitRevision(r.revision());
            log.info("event=backup_pruned backup_id={} volume_id={}", id, cur.value().volumeId());
        }
        return r.succeeded();
    }

    /** The newest backup of a volume that an incremental can be taken relative to. */
    Optional<Backup> latest(String volumeId) {
        return res.backups().byIndex(Resources.BY_VOLUME, volumeId).stream().map(Versioned::value)
                .filter(b -> b.status() == BackupStatus.AVAILABLE).max(Comparator.comparing(Backup::createdAt).thenComparing(Backup::id));
    }

    public void delete(AuthContext ctx, String id, boolean force) {
        Policy.requireMember(ctx, force ? "backup:force_delete" : "backup:delete");
        if (force && !ctx.isAdmin()) {
            throw ApiException.forbidden("Policy doesn't allow backup:force_delete to be performed.");
        }
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Backup> cur = visible(ctx, id);
            Backup b = cur.value();
            if (b.status() == BackupStatus.DELETING) {
                return;
            }
            if (b.protectedBackup()) {
                throw protectedBackup(b.id());
            }
            if (!force && b.status() != BackupStatus.AVAILABLE && b.status() != BackupStatus.ERROR) {
                throw ApiException.badRequest("Invalid backup: Backup status must be available or error, but the current status is \""
                        + b.status().wire() + "\".");
            }
            if (hasDependents(b)) {
                throw ApiException.badRequest("Invalid backup: Incremental backups exist for this backup.");
            }
            if (b.status() == BackupStatus.CREATING || b.status() == BackupStatus.RESTORING) {
                throw ApiException.badRequest("Invalid backup: a backup cannot be deleted while it is " + b.status().wire() + ".");
            }
            TxnResult r = res.store().txn(Txn.builder().when(backups.unchanged(id, cur.revision()))
                    .onSuccess(backups.put(b.withStatus(BackupStatus.DELETING, null, res.clock().now()))).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=backup_delete_requested backup_id={}", id);
                return;
            }
        }
        throw ApiException.conflict("Backup " + id + " is changing too quickly; retry.");
    }

    static ApiException protectedBackup(String id) {
        return ApiException.badRequest("Invalid backup: Backup " + id + " is protected (halcyon:protected); set halcyon:protected "
                + "to false before deleting it.");
    }

    public record Restore(String backupId, String volumeId, String volumeName) {
    }

    /** Restores into an existing available volume at least as large, or into a new volume. */
    public Restore restore(AuthContext ctx, String id, String volumeId, String name) {
        Policy.requireMember(ctx, "backup:restore");
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Backup> cur = visible(ctx, id);
            Backup b = cur.value();
            if (b.status() != BackupStatus.AVAILABLE) {
                throw ApiException.badRequest("Invalid backup: Backup status must be available, but the current status is \""
                        + b.status().wire() + "\".");
            }
            Instant now = res.clock().now();
            var txn = Txn.builder().when(backups.unchanged(id, cur.revision()));
            Volume target;
            if (volumeId != null) {
                Versioned<Volume> vv = volumes.visible(ctx, volumeId);
                Volume v = vv.value();
                if (v.status() != VolumeStatus.AVAILABLE) {
                    throw ApiException.badRequest("Invalid volume: Volume to be restored to must be available, but the current status is \""
                            + v.status().wire() + "\".");
                }
                if (v.sizeGb() < b.sizeGb()) {
                    throw ApiException.badRequest("Invalid volume: volume size " + v.sizeGb() + " is smaller than backup size " + b.sizeGb() + ".");
                }
                target = v.withStatus(VolumeStatus.RESTORING_BACKUP, now);
                txn.when(volumeRepo.unchanged(volumeId, vv.revision()));
            } else {
                Policy.requireMember(ctx, "volume:create");
                target = newRestoreTarget(ctx, b, name != null ? name : "restore_backup_" + id, now);
                checkVolumeQuota(ctx.projectId(), 1, b.sizeGb());
                txn.when(volumeRepo.absent(target.id()));
            }
            txn.onSuccess(volumeRepo.put(target), backups.put(b.restoring(target.id(), now)));
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=backup_restore_requested backup_id={} volume_id={}", id, target.id());
                return new Restore(id, target.id(), target.name());
            }
        }
        throw ApiException.conflict("Backup " + id + " is changing too quickly; retry.");
    }

    /** A new volume of the default type for a backup to be restored into. */
    Volume newRestoreTarget(AuthContext ctx, Backup b, String name, Instant now) {
        VolumeType type = volumes.type(null);
        return new Volume(Ids.newId(), ctx.projectId(), ctx.userId(), name, null, b.sizeGb(), type.name(), type.backend(),
                VolumeStatus.RESTORING_BACKUP, VolumeSource.blank(), Map.of(), false, List.of(), Map.of(), null, null, null, false, now, now);
    }

    /** Cinder's backup quotas: how many backups a project holds, and their gigabytes (each counts its volume's size). */
    void checkBackupQuota(String projectId, int count, int gigabytes) {
        VolumeQuota q = volumes.quotas().of(projectId);
        var used = volumes.quotas().usage(projectId);
        if (!VolumeQuota.allows(q.backups(), used.backups(), count)) {
            throw ApiException.tooLarge("BackupLimitExceeded: Maximum number of backups allowed (" + q.backups() + ") exceeded");
        }
        if (!VolumeQuota.allows(q.backupGigabytes(), used.backupGigabytes(), gigabytes)) {
            throw ApiException.tooLarge("VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup gigabytes quota. "
                    + "Requested " + gigabytes + "G, quota is " + q.backupGigabytes() + "G and " + used.backupGigabytes()
                    + "G has been consumed.");
        }
    }

    void checkVolumeQuota(String projectId, int count, int gigabytes) {
        volumes.checkQuota(projectId, count, gigabytes, 0);
    }

    /** Changes what is given (null: unchanged): the name, the description, and whether the backup is protected. */
    public Backup update(AuthContext ctx, String id, String name, String description, Boolean protect) {
        Policy.requireMember(ctx, "backup:update");
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Backup> cur = visible(ctx, id);
            Instant now = res.clock().now();
            Backup b = cur.value().withDetails(name == null ? cur.value().name() : name,
                    description == null ? cur.value().description() : description, now);
            if (protect != null) {
                b = b.withProtected(protect, now);
            }
            TxnResult r = res.store().txn(Txn.builder().when(backups.unchanged(id, cur.revision())).onSuccess(backups.put(b)).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return b;
            }
        }
        throw ApiException.conflict("Backup " + id + " is changing too quickly; retry.");
    }
}
