package io.halcyon.model.volume;

/** A project's block-storage limits; -1 means unlimited, as in Cinder. */
public record VolumeQuota(int volumes, int gigabytes, int snapshots, int perVolumeGigabytes, int backups, int backupGigabytes, int groups) {
    public static VolumeQuota cinderDefaults() {
        return new VolumeQuota(10, 1000, 10, -1, 10, 1000, 10);
    }

    public static boolean allows(int limit, long used, long requested) {
        return limit < 0 || used + requested <= limit;
    }
}
