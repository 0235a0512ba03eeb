package io.halcyon.model.agent;

import static java.util.Objects.requireNonNull;

/**
 * A backup of a volume of a running guest that the leader gives the guest's host: the agent takes
 * it through QEMU (a point-in-time view and the volume's dirty bitmap) into the repository, and
 * reports the outcome.
 *
 * @param parentId   the backup to take it relative to (its dirty bitmap), or null for a full backup
 * @param repository the repository's directory, on storage this host sees at the same path
 * @param key        the repository's key (base64), or null when it is not encrypted
 * @param groupId    the server backup it is part of: every task of the group is taken at one instant; null alone
 * @param groupSize  how many tasks the group has: the host starts none of them before it has been given all
 */
public record BackupTask(String backupId, String volumeId, String parentId, String repository, String key, int threads, String groupId,
                         int groupSize) {
    public BackupTask {
        requireNonNull(backupId, "backupId is null");
        requireNonNull(volumeId, "volumeId is null");
        requireNonNull(repository, "repository is null");
    }
}
