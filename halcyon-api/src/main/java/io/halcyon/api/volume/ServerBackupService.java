package io.halcyon.api.volume;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.compute.ServerService;
import io.halcyon.api.http.ApiException;
import io.halcyon.model.Ids;
import io.halcyon.model.compute.BlockDevice;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.VmState;
import io.halcyon.model.volume.Backup;
import io.halcyon.model.volume.BackupStatus;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeStatus;
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
import java.util.LinkedHashMap;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * Server backups: a Cinder backup of every volume of a server, all taken at one instant (one QMP
 * transaction in the running guest's QEMU; or, for a stopped server, every volume held by
 * qemu-nbd before any is read). Each is an ordinary Cinder backup that can be shown, restored or
 * deleted on its own; the server backup is the set sharing one group id, created, restored and
 * deleted in one transaction each.
 */
public final class ServerBackupService {
    private static final Logger log = LoggerFactory.getLogger(ServerBackupService.class);

    private final Resources res;
    private final BackupService backupService;
    private final Repository<Backup> backups;
    private final Repository<Volume> volumeRepo;
    private final Repository<Server> servers;

    /** A server backup: its members, in the server's disk order. */
    public record View(String id, String serverId, String projectId, List<Backup> members) {
        public Backup first() {
            return members.get(0);
        }

        /** creating, deleting, restoring or error while any member is; otherwise available. */
        public String status() {
            for (BackupStatus s : List.of(BackupStatus.CREATING, BackupStatus.DELETING, BackupStatus.RESTORING, BackupStatus.ERROR,
                    BackupStatus.ERROR_DELETING)) {
                if (members.stream().anyMatch(b -> b.status() == s)) {
                    return s.wire();
                }
            }
            return BackupStatus.AVAILABLE.wire();
        }
    }

    public ServerBackupService(Resources res, BackupService backupService) {
        this(res, backupService, java.util.Set.of());
    }

    /** @param snapshotBackends backends whose volumes are backed up from their own snapshots (Ceph), one volume at a time */
    public ServerBackupService(Resources res, BackupService backupService, java.util.Set<String> snapshotBackends) {
        this.snapshotBackends = java.util.Set.copyOf(snapshotBackends);
        this.res = requireNonNull(res, "res is null");
        this.backupService = requireNonNull(backupService, "backupService is null");
        this.backups = res.repo(Kinds.BACKUPS);
        this.volumeRepo = res.repo(Kinds.VOLUMES);
        this.servers = res.repo(Kinds.SERVERS);
    }

    private final java.util.Set<String> snapshotBackends;

    public static ApiException notFound(String id) {
        return ApiException.notFound("Server backup " + id + " could not be found.");
    }

    public List<View> list(AuthContext ctx, boolean allProjects) {
        Policy.requireReader(ctx, "backup:get_all");
        if (allProjects && !ctx.isAdmin()) {
            throw ApiException.forbidden("Policy doesn't allow backup:get_all with all_tenants to be performed.");
        }
        res.sync();
        var groups = new LinkedHashMap<String, List<Backup>>();
        for (Versioned<Backup> v : res.backups().list()) {
            Backup b = v.value();
            if (b.group() != null && (allProjects || b.projectId().equals(ctx.projectId()))) {
                groups.computeIfAbsent(b.group().id(), k -> new ArrayList<>()).add(b);
            }
        }
        return groups.values().stream().map(ServerBackupService::view)
                .sorted(Comparator.comparing((View v) -> v.first().createdAt()).reversed().thenComparing(View::id)).toList();
    }

    public View show(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "backup:get");
        res.sync();
        return view(groupVersions(ctx, id).stream().map(Versioned::value).toList());
    }

    private static View view(List<Backup> members) {
        var sorted = new ArrayList<>(members);
        sorted.sort(Comparator.comparing((Backup b) -> b.group().device() == null ? "" : b.group().device()).thenComparing(Backup::id));
        Backup f = sorted.get(0);
        return new View(f.group().id(), f.group().serverId(), f.projectId(), List.copyOf(sorted));
    }

    /**
     * Backs up every volume of a server at one instant: a running server with {@code force}
     * (as Cinder asks for in-use volumes), a stopped one without.
     */
    public View create(AuthContext ctx, String serverId, String name, String description, boolean incremental, boolean force) {
        Policy.requireMember(ctx, "backup:create");
        backupService.requireRepository();
        Policy.requireReader(ctx, "os_compute_api:servers:show");
        for (int attempt = 0; attempt < 20; attempt++) {
            res.sync();
            Versioned<Server> sv = res.servers().get(serverId)
                    .filter(v -> ctx.isAdmin() || v.value().projectId().equals(ctx.projectId()))
                    .orElseThrow(() -> ServerService.serverNotFound(serverId));
            Server s = sv.value();
            if (s.spec().deleted()) {
                throw ServerService.serverNotFound(serverId);
            }
            if (s.status().taskState() != null || (s.status().vmState() != VmState.ACTIVE && s.status().vmState() != VmState.STOPPED)) {
                throw ApiException.conflict("Cannot back up instance " + serverId + " while it is in vm_state " + s.status().vmState().wire()
                        + (s.status().taskState() == null ? "" : ", task_state " + s.status().taskState().wire()) + ".");
            }
            if (s.spec().rootVolume() == null) {
                throw ApiException.badRequest("Invalid backup: instance " + serverId + " boots from an image, so its root disk is not a "
                        + "volume and cannot be backed up with its volumes at one instant; boot from a volume to back up the whole server.");
            }
            if (s.status().vmState() == VmState.ACTIVE && !force) {
                throw ApiException.badRequest("Invalid backup: instance " + serverId + " is running: backing up its in-use volumes must use "
                        + "the force flag.");
            }
            Instant now = res.clock().now();
            String groupId = Ids.newId();
            // the server is written back unchanged: a start racing this request then retries and sees the volumes backing up
            var txn = Txn.builder().when(servers.unchanged(serverId, sv.revision())).onSuccess(servers.put(s));
            var made = new ArrayList<Backup>();
            for (BlockDevice d : s.spec().blockDevices()) {
                Versioned<Volume> cur = res.volumes().get(d.volumeId()).orElseThrow(() -> ApiException.conflict(
                        "Volume " + d.volumeId() + " of instance " + serverId + " is gone; retry once the instance has settled."));
                Volume v = cur.value();
                if (v.backend() != null && snapshotBackends.contains(v.backend())) {
                    throw ApiException.badRequest("Invalid backup: volume " + v.id() + " of instance " + serverId + " is on Ceph (backend "
                            + v.backend() + "), whose volumes are backed up one at a time from their own snapshots; back them up with "
                            + "volume backups.");
                }
                if (v.status() != VolumeStatus.IN_USE && v.status() != VolumeStatus.AVAILABLE) {
                    throw ApiException.badRequest("Invalid volume: every volume of the instance must be in-use to be backed up, but volume "
                            + v.id() + " is \"" + v.status().wire() + "\".");
                }
                String parent = null;
                if (incremental) {
                    parent = backupService.latest(v.id()).map(Backup::id).orElseThrow(() -> ApiException.badRequest(
                            "Invalid backup: No backups available to do an incremental backup of volume " + v.id() + "."));
                }
                var b = new Backup(Ids.newId(), v.projectId(), ctx.userId(), v.id(), name, description, v.sizeGb(), BackupStatus.CREATING,
                        null, parent, v.bootable(), v.imageMetadata(), null, null, now, now, now, null, null,
                        new Backup.Group(groupId, serverId, d.device(), s.spec().blockDevices().size()), null, false);
                made.add(b);
                txn.when(volumeRepo.unchanged(v.id(), cur.revision()), backups.absent(b.id()))
                        .onSuccess(volumeRepo.put(v.withStatus(VolumeStatus.BACKING_UP, now)), backups.put(b));
            }
            backupService.checkBackupQuota(s.projectId(), made.size(), made.stream().mapToInt(Backup::sizeGb).sum());
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=server_backup_requested server_backup_id={} server_id={} backups={} incremental={}", groupId, serverId,
                        made.stream().map(Backup::id).toList(), incremental);
                return view(made);
            }
        }
        throw ApiException.conflict("Instance " + serverId + " is changing too quickly; retry.");
    }

    /** Deletes every backup of the server backup, refused while one of them has incrementals. */
    public void delete(AuthContext ctx, String id) {
        Policy.requireMember(ctx, "backup:delete");
        for (int attempt = 0; attempt < 20; attempt++) {
            res.sync();
            var txn = Txn.builder();
            boolean any = false;
            for (Versioned<Backup> v : groupVersions(ctx, id)) {
                Backup b = v.value();
                if (b.status() == BackupStatus.DELETING) {
                    continue;
                }
                if (b.protectedBackup()) {
                    throw BackupService.protectedBackup(b.id());
                }
                if (b.status() != BackupStatus.AVAILABLE && b.status() != BackupStatus.ERROR) {
                    throw ApiException.badRequest("Invalid backup: every backup of the server backup must be available or error, but backup "
                            + b.id() + " is \"" + b.status().wire() + "\".");
                }
                if (backupService.hasDependents(b)) {
                    throw ApiException.badRequest("Invalid backup: Incremental backups exist for backup " + b.id() + " of volume "
                            + b.volumeId() + ".");
                }
                txn.when(backups.unchanged(b.id(), v.revision())).onSuccess(backups.put(b.withStatus(BackupStatus.DELETING, null,
                        res.clock().now())));
                any = true;
            }
            if (!any) {
                return;
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=server_backup_delete_requested server_backup_id={}", id);
                return;
            }
        }
        throw ApiException.conflict("Server backup " + id + " is changing too quickly; retry.");
    }

    /** A volume a server backup restores into. */
    public record Restored(String device, String backupId, String volumeId, String volumeName) {
    }

    /** Restores every backup of the server backup into a new volume each, in one transaction. */
    public List<Restored> restore(AuthContext ctx, String id, String namePrefix) {
        Policy.requireMember(ctx, "backup:restore");
        Policy.requireMember(ctx, "volume:create");
        for (int attempt = 0; attempt < 20; attempt++) {
            res.sync();
            List<Versioned<Backup>> group = groupVersions(ctx, id);
            var txn = Txn.builder();
            var out = new ArrayList<Restored>();
            int gb = 0;
            Instant now = res.clock().now();
            for (Versioned<Backup> v : group) {
                Backup b = v.value();
                if (b.status() != BackupStatus.AVAILABLE) {
                    throw ApiException.badRequest("Invalid backup: every backup of the server backup must be available, but backup " + b.id()
                            + " is \"" + b.status().wire() + "\".");
                }
                String device = b.group().device() == null ? b.volumeId() : b.group().device().replaceFirst("^/dev/", "");
                String name = (namePrefix == null ? "restore_" + id : namePrefix) + "_" + device;
                Volume target = backupService.newRestoreTarget(ctx, b, name, now);
                gb += b.sizeGb();
                txn.when(backups.unchanged(b.id(), v.revision()), volumeRepo.absent(target.id()))
                        .onSuccess(volumeRepo.put(target), backups.put(b.restoring(target.id(), now)));
                out.add(new Restored(b.group().device(), b.id(), target.id(), target.name()));
            }
            backupService.checkVolumeQuota(ctx.projectId(), out.size(), gb);
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=server_backup_restore_requested server_backup_id={} volumes={}", id,
                        out.stream().map(Restored::volumeId).toList());
                return out;
            }
        }
        throw ApiException.conflict("Server backup " + id + " is changing too quickly; retry.");
    }

    private List<Versioned<Backup>> groupVersions(AuthContext ctx, String id) {
        var out = new ArrayList<Versioned<Backup>>();
        for (Versioned<Backup> v : res.backups().list()) {
            Backup b = v.value();
            if (b.group() != null && b.group().id().equals(id) && (ctx.isAdmin() || b.projectId().equals(ctx.projectId()))) {
                out.add(v);
            }
        }
        if (out.isEmpty()) {
            throw notFound(id);
        }
        out.sort(Comparator.comparing((Versioned<Backup> v) -> v.value().id()));
        return out;
    }
}
