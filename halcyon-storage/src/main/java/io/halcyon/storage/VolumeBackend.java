package io.halcyon.storage;

import io.halcyon.model.agent.DiskSpec;

import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * A storage backend as the controller drives it. Every operation is idempotent and atomic from
 * the outside (work happens on a temporary name, then one rename), so a reconciler may repeat any
 * of them after a crash. What QEMU opens is described by {@link DiskSpec}s, so agents need no
 * backend code: a Ceph RBD backend only changes what those specs say.
 */
public interface VolumeBackend {
    String name();

    Capacity capacity() throws StorageException;

    /** How QEMU opens a volume. */
    DiskSpec export(String volumeId, String device, boolean readOnly);

    /**
     * Where a server's root disk lives, as an overlay of its image's shared base that the agent
     * creates on first boot; {@code image} is null when the image is gone (the disk must exist).
     */
    DiskSpec rootDisk(String serverId, ImageData image, long sizeBytes);

    /** Makes the image's read-only base on this backend if it is not there yet. */
    void ensureBase(ImageData image) throws StorageException;

    boolean volumeExists(String volumeId);

    void createBlank(String volumeId, long sizeBytes) throws StorageException;

    /** An overlay of the image's base: O(1) whatever the image's size. */
    void createFromImage(String volumeId, ImageData image, long sizeBytes) throws StorageException;

    void createFromSnapshot(String volumeId, String snapshotId, long sizeBytes) throws StorageException;

    void createFromVolume(String volumeId, String sourceVolumeId, long sizeBytes) throws StorageException;

    void extend(String volumeId, long sizeBytes) throws StorageException;

    void deleteVolume(String volumeId) throws StorageException;

    boolean snapshotExists(String snapshotId);

    void createSnapshot(String snapshotId, String volumeId) throws StorageException;

    void deleteSnapshot(String snapshotId) throws StorageException;

    /**
     * Writes the volume as an image file in {@code format} to {@code target}. When the volume is an
     * untouched copy of an image in that format, that image's own bytes are written, so the new
     * image has the original's checksum.
     */
    void exportToImage(String volumeId, String format, Optional<ImageData> origin, Path target) throws StorageException;

    void deleteRootDisk(String serverId) throws StorageException;

    /** The ids of everything the backend holds, for sweeping away what no record owns. */
    Set<String> volumeIds() throws StorageException;

    Set<String> snapshotIds() throws StorageException;

    Set<String> rootDiskIds() throws StorageException;

    /**
     * Removes temporary files last written before {@code cutoff}: those of operations that can no
     * longer be in progress (the caller knows when the current leader started).
     */
    void cleanTemporary(java.time.Instant cutoff) throws StorageException;

    /** Space the volume's own data takes (not its base). */
    long allocatedBytes(String volumeId) throws StorageException;

    /**
     * The volume as a qcow2 file this process can open (backups read it with qemu-nbd, restores
     * rename a new file over it); empty for backends whose volumes are not local files.
     */
    default Optional<Path> localImage(String volumeId) {
        return Optional.empty();
    }
}
