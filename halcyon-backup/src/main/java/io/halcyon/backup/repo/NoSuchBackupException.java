package io.halcyon.backup.repo;

/** No backup of that id in the repository. */
public final class NoSuchBackupException extends RepositoryException {
    private final String backupId;

    public NoSuchBackupException(String backupId) {
        super("no backup " + backupId + " in the repository");
        this.backupId = backupId;
    }

    public String backupId() {
        return backupId;
    }
}
