package io.halcyon.backup.repo;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * One backup: the volume's size and, per chunk-sized slot, the id of its content or null for a
 * slot that reads as zeros (a hole, never stored). Every index is complete: restoring a backup
 * needs its own index only, never its parent's, so deleting any backup leaves the others whole.
 *
 * @param source what was backed up (a volume id), the unit of retention
 * @param parent the backup this one was taken relative to, or null for a full backup
 * @param mode   how the changes were found: {@code full}, {@code bitmap}, {@code rbd-diff} or {@code hash-compare}
 * @param note   why the mode is what it is, when that is worth saying (a lost bitmap, for one)
 */
public record BackupIndex(String id, String source, Map<String, String> labels, Instant createdAt, String parent, long size,
                          int chunkSize, String mode, String note, Stats stats, List<String> chunks) {
    public static final String FULL = "full";
    public static final String BITMAP = "bitmap";
    /** An incremental that read only the ranges Ceph reported changed between two RBD snapshots. */
    public static final String RBD_DIFF = "rbd-diff";
    public static final String HASH_COMPARE = "hash-compare";

    public BackupIndex {
        requireNonNull(id, "id is null");
        requireNonNull(source, "source is null");
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(mode, "mode is null");
        requireNonNull(stats, "stats is null");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        chunks = Collections.unmodifiableList(new ArrayList<>(requireNonNull(chunks, "chunks is null")));
        if (chunkSize <= 0 || size < 0 || chunks.size() != slots(size, chunkSize)) {
            throw new IllegalArgumentException("index " + id + ": " + chunks.size() + " chunk entries for " + size
                    + " bytes in chunks of " + chunkSize);
        }
    }

    /**
     * What a backup cost.
     *
     * @param bytesRead    bytes read from the volume
     * @param bytesStored  bytes written to the repository (new chunks, compressed and encrypted as stored)
     * @param bytesSkipped bytes of the volume never read: holes, zeros, and chunks known unchanged
     */
    public record Stats(long bytesRead, long bytesStored, long bytesSkipped, long chunksNew, long chunksReused, long chunksZero,
                        long millis) {
    }

    public static int slots(long size, int chunkSize) {
        return (int) ((size + chunkSize - 1) / chunkSize);
    }

    /** Length of slot {@code i}: the last one may be short. */
    public int slotLength(int i) {
        return (int) Math.min(chunkSize, size - (long) i * chunkSize);
    }

    public Set<String> chunkIds() {
        var ids = new LinkedHashSet<String>();
        for (String c : chunks) {
            if (c != null) {
                ids.add(c);
            }
        }
        return ids;
    }
}
