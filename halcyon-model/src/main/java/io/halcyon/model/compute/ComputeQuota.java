package io.halcyon.model.compute;

/** A project's compute limits; -1 means unlimited, as in Nova. */
public record ComputeQuota(int instances, int cores, int ram, int metadataItems, int keyPairs, int serverGroups,
                           int serverGroupMembers, int injectedFiles, int injectedFileContentBytes, int injectedFilePathBytes) {

    public static ComputeQuota novaDefaults() {
        return new ComputeQuota(10, 20, 51200, 128, 100, 10, 10, 5, 10240, 255);
    }

    public static boolean allows(int limit, long used, long requested) {
        return limit < 0 || used + requested <= limit;
    }
}
