package io.halcyon.controller;

import io.halcyon.backup.VolumeBackups;
import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.GarbageCollector;
import io.halcyon.backup.repo.NoSuchBackupException;
import io.halcyon.backup.repo.Repository;
import io.halcyon.model.volume.Backup;
import io.halcyon.model.volume.BackupStatus;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.runtime.ConflictException;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Leadership;
import io.halcyon.runtime.Reconciler;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Result;
import io.halcyon.runtime.Versioned;
import io.halcyon.storage.Backends;
import io.halcyon.storage.RbdBackend;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * Carries out the backup work recorded in the store, on the leader: creating (read the volume
 * into the repository, incremental from the parent's dirty bitmap where the volume still has it;
 * the volume of a running guest is given to the guest's host, which reads it through QEMU and
 * reports),
 * restoring (into a new image renamed over the target volume's file) and deleting (the index; the
 * chunks go with the next garbage collection). Keys are {@code backup/<id>}. A controller that
 * dies mid-way leaves the backup in its working state, and the next leader does it again: a
 * backup whose index is already in the repository is simply adopted. Every write is fenced by the
 * leader's term.
 */
final class BackupReconciler implements Reconciler {
    private static final Logger log = LoggerFactory.getLogger(BackupReconciler.class);
    private static final long GIB = 1L << 30;

    private final Resources res;
    private final Backends backends;
    private final Repository repo;
    private final VolumeBackups volumeBackups;
    private final Leadership leadership;
    private final io.halcyon.runtime.Repository<Backup> backups;
    private final io.halcyon.runtime.Repository<Volume> volumes;

    BackupReconciler(Resources res, Backends backends, Repository repo, VolumeBackups volumeBackups, Leadership leadership) {
        this.res = requireNonNull(res, "res is null");
        this.backends = requireNonNull(backends, "backends is null");
        this.repo = requireNonNull(repo, "repo is null");
        this.volumeBackups = requireNonNull(volumeBackups, "volumeBackups is null");
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.backups = res.repo(Kinds.BACKUPS);
        this.volumes = res.repo(Kinds.VOLUMES);
    }

    static boolean needsWork(Backup b) {
        return b.status() == BackupStatus.CREATING || b.status() == BackupStatus.DELETING || b.status() == BackupStatus.RESTORING;
    }

    @Override
    public Result reconcile(String key) throws Exception {
        if (!key.startsWith("backup/")) {
            return Result.done();
        }
        Optional<Versioned<Backup>> cur = res.backups().get(key.substring(7));
        if (cur.isEmpty() || !needsWork(cur.get().value())) {
            return Result.done();
        }
        res.awaitRevision(cur.get().revision());
        return switch (cur.get().value().status()) {
            case CREATING -> create(cur.get());
            case RESTORING -> restore(cur.get());
            case DELETING -> delete(cur.get());
            default -> Result.done();
        };
    }

    private Result create(Versioned<Backup> cur) {
        Backup b = cur.value();
        Instant now;
        BackupIndex index;
        if (b.group() != null && b.host() == null) {
            return createGroup(cur);
        }
        Optional<String> running = b.group() != null ? serverHost(b.group().serverId()) : runningHost(b.volumeId());
        if (b.host() != null && b.outcome() == null) {
            if (running.isPresent() && running.get().equals(b.host())) {
                return Result.after(Duration.ofSeconds(30));
            }
            // the guest stopped or moved before its host reported: decide again (a server backup's
            // volumes all together, so the host's report finds all of them or none)
            var txn = Txn.builder();
            List<Versioned<Backup>> back = b.group() == null ? List.of(cur) : groupMembers(b.group().id()).stream()
                    .filter(v -> b.host().equals(v.value().host()) && v.value().outcome() == null).toList();
            for (Versioned<Backup> v : back) {
                txn.when(backups.unchanged(v.value().id(), v.revision())).onSuccess(backups.put(v.value().onHost(null, res.clock().now())));
            }
            commit(txn);
            log.info("event=backup_taken_back backup_ids={} host={}", back.stream().map(v -> v.value().id()).toList(), b.host());
            return Result.done();
        }
        if (b.host() != null && !"ok".equals(b.outcome())) {
            log.warn("event=backup_failed backup_id={} volume_id={} host={} error=\"{}\"", b.id(), b.volumeId(), b.host(), b.outcome());
            now = res.clock().now();
            finish(cur, b.withStatus(BackupStatus.ERROR, "backup on " + b.host() + " " + b.outcome(), now), b.volumeId(),
                    VolumeStatus.BACKING_UP, null, now);
            return Result.done();
        }
        if (b.host() != null && !repo.hasIndex(b.id())) {
            now = res.clock().now();
            finish(cur, b.withStatus(BackupStatus.ERROR, "backup on " + b.host() + " reported done, but its index is not in the repository",
                    now), b.volumeId(), VolumeStatus.BACKING_UP, null, now);
            return Result.done();
        }
        Optional<RbdBackend> ceph = rbdBackend(b.volumeId());
        if (ceph.isPresent()) {
            return createFromSnapshot(cur, ceph.get());
        }
        if (b.host() == null && running.isPresent() && !repo.hasIndex(b.id())) {
            // a running guest's volume is read through its QEMU, on its host
            commit(Txn.builder().when(backups.unchanged(b.id(), cur.revision()))
                    .onSuccess(backups.put(b.onHost(running.get(), res.clock().now()))));
            log.info("event=backup_given backup_id={} volume_id={} host={}", b.id(), b.volumeId(), running.get());
            return Result.done();
        }
        try {
            if (repo.hasIndex(b.id())) {
                index = repo.readIndex(b.id());
                log.info("event=backup_adopted backup_id={}", b.id());
            } else {
                Path image = image(b.volumeId());
                String parent = b.parentId() != null && repo.hasIndex(b.parentId()) ? b.parentId() : null;
                index = volumeBackups.backup(image, b.id(), b.volumeId(), Map.of("project", b.projectId()), parent, null);
            }
        } catch (Exception e) {
            if (inUse(e)) {
                // another controller's attempt (a deposed leader's) still holds the volume
                log.info("event=backup_waits backup_id={} reason=\"{}\"", b.id(), e.getMessage());
                return Result.after(Duration.ofSeconds(5));
            }
            return failed(cur, e);
        }
        return created(cur, index, "volume");
    }

    private Result failed(Versioned<Backup> cur, Exception e) {
        Backup b = cur.value();
        log.warn("event=backup_failed backup_id={} volume_id={} error=\"{}\"", b.id(), b.volumeId(), e.getMessage());
        Instant now = res.clock().now();
        finish(cur, b.withStatus(BackupStatus.ERROR, "backup failed: " + e.getMessage(), now), b.volumeId(), VolumeStatus.BACKING_UP,
                null, now);
        return Result.done();
    }

    private Result created(Versioned<Backup> cur, BackupIndex index, String from) {
        Backup b = cur.value();
        var s = index.stats();
        Instant now = res.clock().now();
        finish(cur, b.done(stats(index), now), b.volumeId(), VolumeStatus.BACKING_UP, null, now);
        log.info("event=backup_created backup_id={} volume_id={} mode={} read={} stored={} from={}", b.id(), b.volumeId(), index.mode(),
                s.bytesRead(), s.bytesStored(), from);
        return Result.done();
    }

    private Optional<RbdBackend> rbdBackend(String volumeId) {
        return res.volumes().get(volumeId).flatMap(v -> backends.get(v.value().backend()))
                .filter(be -> be instanceof RbdBackend).map(be -> (RbdBackend) be);
    }

    /**
     * A volume on Ceph, attached or not: its backup reads an RBD snapshot (taken here, crash
     * consistent while a guest writes), and an incremental reads only the ranges {@code rbd diff}
     * reports changed since the parent's snapshot. Each volume keeps one backup snapshot: the
     * latest backup's, which the next incremental starts from.
     */
    private Result createFromSnapshot(Versioned<Backup> cur, RbdBackend ceph) {
        Backup b = cur.value();
        BackupIndex index;
        try {
            if (repo.hasIndex(b.id())) {
                index = repo.readIndex(b.id());
                log.info("event=backup_adopted backup_id={}", b.id());
            } else {
                String parent = b.parentId() != null && repo.hasIndex(b.parentId()) ? b.parentId() : null;
                String snapshot = ceph.snapshotForBackup(b.volumeId(), b.id());
                List<io.halcyon.backup.nbd.Extent> changed = null;
                String note = null;
                if (parent != null) {
                    var c = ceph.changedSince(b.volumeId(), parent, b.id());
                    note = c.reason();
                    if (c.ranges() != null) {
                        changed = c.ranges().stream().map(r -> new io.halcyon.backup.nbd.Extent(r[0], r[1], io.halcyon.backup.nbd.Extent.DIRTY))
                                .toList();
                    }
                }
                try {
                    index = volumeBackups.backupSnapshot(snapshot, b.id(), b.volumeId(), Map.of("project", b.projectId()), parent, changed,
                            note, null);
                } catch (Exception e) {
                    ceph.dropBackupSnapshot(b.volumeId(), b.id());
                    throw e;
                }
            }
            ceph.keepOnlyBackupSnapshot(b.volumeId(), b.id());
        } catch (Exception e) {
            return failed(cur, e);
        }
        return created(cur, index, "rbd_snapshot");
    }

    /** The backups of a server backup still being created, in id order; the first acts for all. */
    private List<Versioned<Backup>> groupMembers(String groupId) {
        return res.backups().list().stream()
                .filter(v -> v.value().group() != null && v.value().group().id().equals(groupId) && v.value().status() == BackupStatus.CREATING)
                .sorted(Comparator.comparing((Versioned<Backup> v) -> v.value().id())).toList();
    }

    /**
     * A server backup: every volume at one instant. A running guest's are given to its host
     * together (one QMP transaction there); a stopped server's are read here, with every volume
     * held by qemu-nbd before any is read. Half a server backup is never kept: indexes of a
     * member left by an attempt cut short are removed and the whole server backup taken again.
     */
    private Result createGroup(Versioned<Backup> cur) {
        Backup b = cur.value();
        List<Versioned<Backup>> members = groupMembers(b.group().id());
        if (members.isEmpty() || !members.get(0).value().id().equals(b.id())) {
            return Result.done();
        }
        if (members.stream().anyMatch(v -> v.value().host() != null)) {
            // the others are still being taken back from a host
            return Result.after(Duration.ofSeconds(2));
        }
        List<String> ids = members.stream().map(v -> v.value().id()).toList();
        long indexed = ids.stream().filter(repo::hasIndex).count();
        try {
            if (indexed > 0 && indexed < ids.size()) {
                for (String id : ids) {
                    if (repo.hasIndex(id)) {
                        repo.deleteIndex(id);
                    }
                }
                log.info("event=server_backup_restarted server_backup_id={} reason=\"an earlier attempt wrote part of it\"", b.group().id());
                indexed = 0;
            }
            Optional<String> running = serverHost(b.group().serverId());
            if (indexed == 0 && running.isPresent()) {
                var txn = Txn.builder();
                Instant now = res.clock().now();
                for (Versioned<Backup> v : members) {
                    txn.when(backups.unchanged(v.value().id(), v.revision())).onSuccess(backups.put(v.value().onHost(running.get(), now)));
                }
                commit(txn);
                log.info("event=server_backup_given server_backup_id={} backups={} host={}", b.group().id(), ids, running.get());
                return Result.done();
            }
            var indexes = new ArrayList<BackupIndex>();
            if (indexed == ids.size()) {
                for (String id : ids) {
                    indexes.add(repo.readIndex(id));
                }
                log.info("event=server_backup_adopted server_backup_id={}", b.group().id());
            } else {
                var list = new ArrayList<VolumeBackups.Member>();
                for (Versioned<Backup> v : members) {
                    Backup m = v.value();
                    String parent = m.parentId() != null && repo.hasIndex(m.parentId()) ? m.parentId() : null;
                    list.add(new VolumeBackups.Member(image(m.volumeId()), m.id(), m.volumeId(),
                            Map.of("project", m.projectId(), "server", b.group().serverId(), "server_backup", b.group().id()), parent));
                }
                indexes.addAll(volumeBackups.backupAll(list, null));
            }
            Instant now = res.clock().now();
            var txn = Txn.builder();
            for (int i = 0; i < members.size(); i++) {
                Backup m = members.get(i).value();
                finishInto(txn, members.get(i), m.done(stats(indexes.get(i)), now), m.volumeId(), VolumeStatus.BACKING_UP, null, now);
            }
            commit(txn);
            log.info("event=server_backup_created server_backup_id={} backups={}", b.group().id(), ids);
        } catch (Exception e) {
            if (inUse(e)) {
                log.info("event=backup_waits server_backup_id={} reason=\"{}\"", b.group().id(), e.getMessage());
                return Result.after(Duration.ofSeconds(5));
            }
            if (e instanceof ConflictException ce) {
                throw ce;
            }
            log.warn("event=server_backup_failed server_backup_id={} error=\"{}\"", b.group().id(), e.getMessage());
            Instant now = res.clock().now();
            var txn = Txn.builder();
            for (Versioned<Backup> v : members) {
                Backup m = v.value();
                finishInto(txn, v, m.withStatus(BackupStatus.ERROR, "server backup failed: " + e.getMessage(), now), m.volumeId(),
                        VolumeStatus.BACKING_UP, null, now);
            }
            commit(txn);
        }
        return Result.done();
    }

    private static Backup.Stats stats(BackupIndex index) {
        var s = index.stats();
        return new Backup.Stats(s.bytesRead(), s.bytesStored(), s.bytesSkipped(), index.chunkIds().size(), s.chunksNew(), index.mode(),
                index.note());
    }

    private Result restore(Versioned<Backup> cur) {
        Backup b = cur.value();
        String target = b.restoreVolumeId();
        Optional<Versioned<Volume>> vol = target == null ? Optional.empty() : res.volumes().get(target);
        Instant now = res.clock().now();
        if (vol.isEmpty() || vol.get().value().status() != VolumeStatus.RESTORING_BACKUP) {
            finish(cur, b.withStatus(BackupStatus.AVAILABLE, null, now), null, null, null, now);
            return Result.done();
        }
        try {
            Optional<RbdBackend> ceph = rbdBackend(target);
            if (ceph.isPresent()) {
                long size = Math.max((long) vol.get().value().sizeGb() * GIB, repo.readIndex(b.id()).size());
                String scratch = ceph.get().restoreScratch(target, size);
                try {
                    volumeBackups.restoreInto(b.id(), ceph.get().qemuName(scratch));
                    ceph.get().replaceWithRestored(target, scratch);
                } catch (Exception e) {
                    ceph.get().removeScratch(scratch);
                    throw e;
                }
            } else {
                volumeBackups.restore(b.id(), image(target), (long) vol.get().value().sizeGb() * GIB);
            }
        } catch (Exception e) {
            if (inUse(e)) {
                return Result.after(Duration.ofSeconds(5));
            }
            log.warn("event=backup_restore_failed backup_id={} volume_id={} error=\"{}\"", b.id(), target, e.getMessage());
            now = res.clock().now();
            finish(cur, b.withStatus(BackupStatus.AVAILABLE, null, now), target, VolumeStatus.RESTORING_BACKUP,
                    v -> v.withError(VolumeStatus.ERROR_RESTORING, "restore of backup " + b.id() + " failed: " + e.getMessage(), res.clock().now()),
                    now);
            return Result.done();
        }
        now = res.clock().now();
        Instant at = now;
        finish(cur, b.withStatus(BackupStatus.AVAILABLE, null, now), target, VolumeStatus.RESTORING_BACKUP,
                v -> v.restored(b.bootable(), b.imageMetadata(), at), now);
        log.info("event=backup_restored backup_id={} volume_id={}", b.id(), target);
        return Result.done();
    }

    private Result delete(Versioned<Backup> cur) {
        Backup b = cur.value();
        try {
            repo.deleteIndex(b.id());
        } catch (NoSuchBackupException e) {
            // deleted already, or never written
        } catch (Exception e) {
            log.warn("event=backup_delete_failed backup_id={} error=\"{}\"", b.id(), e.getMessage());
            commit(Txn.builder().when(backups.unchanged(b.id(), cur.revision()))
                    .onSuccess(backups.put(b.withStatus(BackupStatus.ERROR_DELETING, e.getMessage(), res.clock().now()))));
            return Result.done();
        }
        commit(Txn.builder().when(backups.unchanged(b.id(), cur.revision())).onSuccess(backups.deleteOp(b.id())));
        log.info("event=backup_deleted backup_id={}", b.id());
        return Result.done();
    }

    /** Removes chunks no backup uses; the leader runs it now and then. */
    void collectGarbage(Duration grace) {
        if (!leadership.isLeader()) {
            return;
        }
        try {
            var r = new GarbageCollector(repo, grace, Duration.ofHours(1)).run();
            log.info("event=backup_gc_done removed={} freed_bytes={}", r.chunksRemoved(), r.bytesFreed());
        } catch (RuntimeException e) {
            log.warn("event=backup_gc_failed error=\"{}\"", e.getMessage());
        }
    }

    /** The host of a running server, whose QEMU has its volumes open. */
    private Optional<String> serverHost(String serverId) {
        var s = res.servers().get(serverId).map(Versioned::value).orElse(null);
        if (s != null && s.status().host() != null && s.status().vmState() == io.halcyon.model.compute.VmState.ACTIVE) {
            return Optional.of(s.status().host());
        }
        return Optional.empty();
    }

    /** The host whose QEMU has the volume open: that of the running server it is attached to. */
    private Optional<String> runningHost(String volumeId) {
        Volume v = res.volumes().get(volumeId).map(Versioned::value).orElse(null);
        if (v == null) {
            return Optional.empty();
        }
        for (var a : v.attachments()) {
            var s = res.servers().get(a.serverId()).map(Versioned::value).orElse(null);
            if (s != null && s.status().host() != null && s.status().vmState() == io.halcyon.model.compute.VmState.ACTIVE) {
                return Optional.of(s.status().host());
            }
        }
        return Optional.empty();
    }

    private Path image(String volumeId) {
        Volume v = res.volumes().get(volumeId).map(Versioned::value)
                .orElseThrow(() -> new IllegalStateException("volume " + volumeId + " is gone"));
        return backends.require(v.backend()).localImage(volumeId)
                .orElseThrow(() -> new IllegalStateException("the " + v.backend() + " backend does not keep volumes as local files"));
    }

    private static boolean inUse(Exception e) {
        return e.getMessage() != null && e.getMessage().contains("is in use");
    }

    /** Moves the backup on and, if its volume is still in {@code volumeWas}, the volume too. */
    private void finish(Versioned<Backup> cur, Backup next, String volumeId, VolumeStatus volumeWas,
                        java.util.function.UnaryOperator<Volume> change, Instant now) {
        var txn = Txn.builder();
        finishInto(txn, cur, next, volumeId, volumeWas, change, now);
        commit(txn);
    }

    private void finishInto(Txn.Builder txn, Versioned<Backup> cur, Backup next, String volumeId, VolumeStatus volumeWas,
                            java.util.function.UnaryOperator<Volume> change, Instant now) {
        txn.when(backups.unchanged(next.id(), cur.revision())).onSuccess(backups.put(next));
        if (volumeId != null) {
            Optional<Versioned<Volume>> v = res.volumes().get(volumeId);
            if (v.isPresent() && v.get().value().status() == volumeWas) {
                Volume was = v.get().value();
                Volume moved = change != null ? change.apply(was)
                        : was.withStatus(was.attachments().isEmpty() ? VolumeStatus.AVAILABLE : VolumeStatus.IN_USE, now);
                txn.when(volumes.unchanged(volumeId, v.get().revision())).onSuccess(volumes.put(moved));
            }
        }
    }

    private void commit(Txn.Builder txn) {
        TxnResult r = res.store().txn(txn.when(leadership.fence()).build());
        if (!r.succeeded()) {
            throw new ConflictException("backup state changed while the reconciler worked");
        }
        res.awaitRevision(r.revision());
    }
}
