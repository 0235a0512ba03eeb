package io.halcyon.model.volume;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * A Cinder backup of a volume, held in the backup repository under its id. {@code status} is the
 * work the leader owes: creating, deleting, and restoring into {@code restoreVolumeId}.
 * {@code parentId} is the backup an incremental was taken relative to; every backup in the
 * repository is nonetheless complete on its own.
 *
 * @param bootable      and {@code imageMetadata}: the volume's, given back to the volume a restore writes
 * @param stats         what the backup read, stored and skipped, and how it found the changes; null until done
 * @param host          the host taking the backup through the running guest's QEMU; null when the leader takes it
 * @param outcome       that host's report: {@code ok}, or why it failed; null until it reports
 * @param group         the server backup this is one volume of, all taken at one instant; null for a volume's own backup
 * @param policyId      the backup policy that took it, whose retention alone may prune it; null for a backup a user asked for
 * @param protectedBackup   refused deletion and never pruned until a user lifts it ({@code halcyon:protected})
 */
public record Backup(String id, String projectId, String userId, String volumeId, String name, String description, int sizeGb,
                     BackupStatus status, String failReason, String parentId, boolean bootable, Map<String, String> imageMetadata,
                     String restoreVolumeId, Stats stats, Instant createdAt, Instant updatedAt, Instant dataTimestamp, String host,
                     String outcome, Group group, String policyId, boolean protectedBackup) {
    public Backup {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(volumeId, "volumeId is null");
        requireNonNull(status, "status is null");
        imageMetadata = imageMetadata == null ? Map.of() : Map.copyOf(new TreeMap<>(imageMetadata));
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    /**
     * @param mode {@code full}, {@code bitmap} or {@code hash-compare}
     * @param note why the mode is what it is, when worth saying
     */
    public record Stats(long bytesRead, long bytesStored, long bytesSkipped, long chunks, long chunksNew, String mode, String note) {
    }

    /**
     * The server backup a volume's backup belongs to: its id, the server and the disk it was taken
     * of, and how many volumes the server backup has.
     */
    public record Group(String id, String serverId, String device, int size) {
        public Group {
            requireNonNull(id, "id is null");
            requireNonNull(serverId, "serverId is null");
        }
    }

    public boolean incremental() {
        return parentId != null;
    }

    public Backup withStatus(BackupStatus s, String reason, Instant now) {
        return new Backup(id, projectId, userId, volumeId, name, description, sizeGb, s, reason, parentId, bootable, imageMetadata,
                null, stats, createdAt, now, dataTimestamp, null, null, group, policyId, protectedBackup);
    }

    public Backup done(Stats st, Instant now) {
        return new Backup(id, projectId, userId, volumeId, name, description, sizeGb, BackupStatus.AVAILABLE, null, parentId, bootable,
                imageMetadata, null, st, createdAt, now, dataTimestamp, null, null, group, policyId, protectedBackup);
    }

    public Backup restoring(String volume, Instant now) {
        return new Backup(id, projectId, userId, volumeId, name, description, sizeGb, BackupStatus.RESTORING, null, parentId, bootable,
                imageMetadata, volume, stats, createdAt, now, dataTimestamp, null, null, group, policyId, protectedBackup);
    }

    public Backup withDetails(String n, String d, Instant now) {
        return new Backup(id, projectId, userId, volumeId, n, d, sizeGb, status, failReason, parentId, bootable, imageMetadata,
                restoreVolumeId, stats, createdAt, now, dataTimestamp, host, outcome, group, policyId, protectedBackup);
    }

    /** Given to a host to take through the guest's QEMU (or taken back: {@code h} null). */
    public Backup onHost(String h, Instant now) {
        return new Backup(id, projectId, userId, volumeId, name, description, sizeGb, status, failReason, parentId, bootable, imageMetadata,
                restoreVolumeId, stats, createdAt, now, dataTimestamp, h, null, group, policyId, protectedBackup);
    }

    public Backup withParent(String p, Instant now) {
        return new Backup(id, projectId, userId, volumeId, name, description, sizeGb, status, failReason, p, bootable, imageMetadata,
                restoreVolumeId, stats, createdAt, now, dataTimestamp, host, outcome, group, policyId, protectedBackup);
    }

    public Backup withProtected(boolean p, Instant now) {
        return new Backup(id, projectId, userId, volumeId, name, description, sizeGb, status, failReason, parentId, bootable, imageMetadata,
                restoreVolumeId, stats, createdAt, now, dataTimestamp, host, outcome, group, policyId, p);
    }

    public Backup reported(String o, Instant now) {
        return new Backup(id, projectId, userId, volumeId, name, description, sizeGb, status, failReason, parentId, bootable, imageMetadata,
                restoreVolumeId, stats, createdAt, now, dataTimestamp, host, o, group, policyId, protectedBackup);
    }
}
