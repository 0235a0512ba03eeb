package io.halcyon.storage;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.model.agent.DiskSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Volumes, snapshots and root disks as RBD images of one Ceph pool (see {@link RbdImages} for the
 * names). Volumes and root disks made from an image are copy-on-write clones of the image's base;
 * a Cinder snapshot is an RBD snapshot of its volume; volumes made from a snapshot or another
 * volume are clones flattened at once, so no volume ever depends on a snapshot or volume a user
 * may delete. QEMU opens the images itself through librbd ({@link DiskSpec} driver {@code rbd}).
 */
public final class RbdBackend implements VolumeBackend {
    private static final Logger log = LoggerFactory.getLogger(RbdBackend.class);
    public static final String DRIVER = "rbd";

    private final String name;
    private final Rbd rbd;
    private final RbdImages images;
    private final QemuImg qemuImg;
    private final double overSubscriptionRatio;
    private final double reservedFraction;
    private final long fallbackCapacityBytes;

    /**
     * @param fallbackCapacityBytes the capacity to admit by when the cluster reports none (a Ceph
     *                              without a manager reports zero usage); 0 to refuse instead
     */
    public RbdBackend(String name, Rbd rbd, QemuImg qemuImg, double overSubscriptionRatio, double reservedFraction,
                      long fallbackCapacityBytes) {
        this.name = requireNonNull(name, "name is null");
        this.rbd = requireNonNull(rbd, "rbd is null");
        this.qemuImg = requireNonNull(qemuImg, "qemuImg is null");
        this.images = new RbdImages(rbd, qemuImg);
        this.overSubscriptionRatio = overSubscriptionRatio;
        this.reservedFraction = reservedFraction;
        this.fallbackCapacityBytes = fallbackCapacityBytes;
    }

    @Override
    public String name() {
        return name;
    }

    public Rbd rbd() {
        return rbd;
    }

    /** How QEMU and the agents reach the pool: what a {@link DiskSpec} of this backend carries. */
    private Map<String, String> options() {
        return Map.of("pool", rbd.pool(), "conf", rbd.conf().toString(), "user", rbd.user());
    }

    @Override
    public Capacity capacity() throws StorageException {
        JsonNode df = rbd.cephJson("df");
        long total = df.path("stats").path("total_bytes").asLong();
        long avail = df.path("stats").path("total_avail_bytes").asLong();
        for (JsonNode p : df.path("pools")) {
            if (p.path("name").asText().equals(rbd.pool())) {
                // what the pool can still take, after replication, is its max_avail
                long maxAvail = p.path("stats").path("max_avail").asLong();
                long stored = p.path("stats").path("stored").asLong();
                if (maxAvail > 0) {
                    total = maxAvail + stored;
                    avail = maxAvail;
                }
            }
        }
        if (total <= 0) {
            if (fallbackCapacityBytes <= 0) {
                throw new StorageException("Ceph reports no capacity for pool " + rbd.pool()
                        + " (is a ceph-mgr running?); set the backend's capacityGb to admit volumes without it");
            }
            return new Capacity(fallbackCapacityBytes, fallbackCapacityBytes, overSubscriptionRatio, reservedFraction);
        }
        return new Capacity(total, avail, overSubscriptionRatio, reservedFraction);
    }

    @Override
    public DiskSpec export(String volumeId, String device, boolean readOnly) {
        return new DiskSpec(volumeId, DRIVER, rbd.spec(RbdImages.volume(volumeId)), "raw", FileBackend.serial(volumeId), device, readOnly,
                null, 0, options());
    }

    @Override
    public DiskSpec rootDisk(String serverId, ImageData image, long sizeBytes) {
        var base = image == null ? null
                : new DiskSpec.BaseImage(image.imageId(), rbd.spec(RbdImages.base(image.imageId())), image.format(), image.sha512());
        return new DiskSpec(null, DRIVER, rbd.spec(RbdImages.server(serverId)), "raw", null, "vda", false, base, sizeBytes, options());
    }

    @Override
    public void ensureBase(ImageData image) throws StorageException {
        images.ensureBase(image.imageId(), image.source(), image.format());
    }

    @Override
    public boolean volumeExists(String volumeId) {
        try {
            return rbd.imageExists(RbdImages.volume(volumeId));
        } catch (StorageException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override
    public void createBlank(String volumeId, long sizeBytes) throws StorageException {
        String target = RbdImages.volume(volumeId);
        if (rbd.imageExists(target)) {
            return;
        }
        String tmp = RbdImages.temp("volume");
        try {
            rbd.create(tmp, sizeBytes);
            rbd.rename(tmp, target);
        } catch (StorageException e) {
            rbd.remove(tmp);
            throw e;
        }
    }

    @Override
    public void createFromImage(String volumeId, ImageData image, long sizeBytes) throws StorageException {
        if (rbd.imageExists(RbdImages.volume(volumeId))) {
            return;
        }
        ensureBase(image);
        images.cloneBase(image.imageId(), RbdImages.volume(volumeId), Math.max(sizeBytes, image.virtualSize()));
    }

    @Override
    public void createFromSnapshot(String volumeId, String snapshotId, long sizeBytes) throws StorageException {
        String snap = RbdImages.snapshot(snapshotId);
        String parent = imageOfSnapshot(snap).orElseThrow(() -> new StorageException("snapshot " + snapshotId + " has no data on backend " + name));
        cloneFlattened(volumeId, parent, snap, sizeBytes, false);
    }

    @Override
    public void createFromVolume(String volumeId, String sourceVolumeId, long sizeBytes) throws StorageException {
        String source = RbdImages.volume(sourceVolumeId);
        if (!rbd.imageExists(source)) {
            throw new StorageException("volume " + sourceVolumeId + " has no data on backend " + name);
        }
        // a snapshot of the source for the clone to start from, removed once the clone stands alone
        cloneFlattened(volumeId, source, "clone-" + volumeId, sizeBytes, true);
    }

    private void cloneFlattened(String volumeId, String parent, String snap, long sizeBytes, boolean ownSnapshot) throws StorageException {
        String target = RbdImages.volume(volumeId);
        if (rbd.imageExists(target)) {
            return;
        }
        if (ownSnapshot) {
            rbd.createSnapshot(parent, snap);
        }
        String tmp = RbdImages.temp("volume");
        try {
            rbd.protect(parent, snap);
            rbd.clone(parent, snap, tmp);
            rbd.flatten(tmp);
            rbd.growTo(tmp, sizeBytes);
            rbd.rename(tmp, target);
        } catch (StorageException e) {
            rbd.remove(tmp);
            throw e;
        } finally {
            if (ownSnapshot) {
                rbd.removeSnapshot(parent, snap);
            } else {
                try {
                    rbd.rbd("snap", "unprotect", rbd.spec(parent) + "@" + snap);
                } catch (Rbd.RbdException e) {
                    // another clone of it is being made: it stays protected until the snapshot goes
                }
            }
        }
    }

    private Optional<String> imageOfSnapshot(String snap) throws StorageException {
        for (JsonNode n : rbd.listLong()) {
            if (snap.equals(n.path("snapshot").asText(null))) {
                return Optional.of(n.path("image").asText());
            }
        }
        return Optional.empty();
    }

    @Override
    public void extend(String volumeId, long sizeBytes) throws StorageException {
        String v = RbdImages.volume(volumeId);
        if (!rbd.imageExists(v)) {
            throw new StorageException("volume " + volumeId + " has no data on backend " + name);
        }
        rbd.growTo(v, sizeBytes);
    }

    @Override
    public void deleteVolume(String volumeId) throws StorageException {
        rbd.remove(RbdImages.volume(volumeId));
    }

    @Override
    public boolean snapshotExists(String snapshotId) {
        try {
            return imageOfSnapshot(RbdImages.snapshot(snapshotId)).isPresent();
        } catch (StorageException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override
    public void createSnapshot(String snapshotId, String volumeId) throws StorageException {
        String v = RbdImages.volume(volumeId);
        if (!rbd.imageExists(v)) {
            throw new StorageException("volume " + volumeId + " has no data on backend " + name);
        }
        rbd.createSnapshot(v, RbdImages.snapshot(snapshotId));
    }

    @Override
    public void deleteSnapshot(String snapshotId) throws StorageException {
        String snap = RbdImages.snapshot(snapshotId);
        Optional<String> image = imageOfSnapshot(snap);
        if (image.isPresent()) {
            rbd.removeSnapshot(image.get(), snap);
        }
    }

    @Override
    public void exportToImage(String volumeId, String format, Optional<ImageData> origin, Path target) throws StorageException {
        String v = RbdImages.volume(volumeId);
        JsonNode info = rbd.info(v).orElseThrow(() -> new StorageException("volume " + volumeId + " has no data on backend " + name));
        if (origin.isPresent() && origin.get().format().equals(format) && origin.get().source() != null
                && Files.isRegularFile(origin.get().source())
                && RbdImages.base(origin.get().imageId()).equals(info.path("parent").path("image").asText())
                && ownBytes(v) == 0) {
            // an untouched clone of that image: its own bytes, so the new image has the original's checksum
            try {
                Files.copy(origin.get().source(), target, StandardCopyOption.REPLACE_EXISTING);
                target.toFile().setWritable(true);
                return;
            } catch (java.io.IOException e) {
                throw new StorageException("cannot copy image data: " + e.getMessage(), e);
            }
        }
        qemuImg.convert(rbd.qemuFilename(v, null), "raw", target.toString(), "iso".equals(format) ? "raw" : format);
    }

    private long ownBytes(String image) throws StorageException {
        JsonNode du = rbd.rbdJson("du", rbd.spec(image));
        long used = 0;
        for (JsonNode i : du.path("images")) {
            if (!i.has("snapshot")) {
                used += i.path("used_size").asLong();
            }
        }
        return used;
    }

    @Override
    public void deleteRootDisk(String serverId) throws StorageException {
        rbd.remove(RbdImages.server(serverId));
    }

    private Set<String> ids(String prefix) throws StorageException {
        var out = new HashSet<String>();
        for (String i : rbd.images()) {
            if (i.startsWith(prefix)) {
                out.add(i.substring(prefix.length()));
            }
        }
        return out;
    }

    @Override
    public Set<String> volumeIds() throws StorageException {
        return ids("volume-");
    }

    @Override
    public Set<String> snapshotIds() throws StorageException {
        var out = new HashSet<String>();
        for (JsonNode n : rbd.listLong()) {
            String s = n.path("snapshot").asText("");
            if (n.path("image").asText().startsWith("volume-") && s.startsWith("snapshot-")) {
                out.add(s.substring("snapshot-".length()));
            }
        }
        return out;
    }

    @Override
    public Set<String> rootDiskIds() throws StorageException {
        return ids("server-");
    }

    @Override
    public void cleanTemporary(Instant cutoff) throws StorageException {
        for (String i : rbd.images()) {
            var made = RbdImages.tempCreated(i);
            if (made.isPresent() && made.get().isBefore(cutoff)) {
                rbd.remove(i);
                log.info("event=storage_temp_removed backend={} image={}", name, i);
            }
        }
    }

    // ---- backups: one snapshot per volume, the point in time of its latest backup ----------------

    static String backupSnapshot(String backupId) {
        return "backup-" + backupId;
    }

    /** The point in time of a backup: a snapshot of the volume, made if it is not there. */
    public String snapshotForBackup(String volumeId, String backupId) throws StorageException {
        String v = RbdImages.volume(volumeId);
        if (!rbd.imageExists(v)) {
            throw new StorageException("volume " + volumeId + " has no data on backend " + name);
        }
        rbd.createSnapshot(v, backupSnapshot(backupId));
        return rbd.qemuFilename(v, backupSnapshot(backupId));
    }

    /**
     * What changed between two backups' snapshots, as {@code [offset, length]} ranges ({@code rbd
     * diff --from-snap}, which fast-diff answers from the object map without reading data); or the
     * reason it cannot be trusted: the older snapshot is gone, or the object map is flagged invalid.
     */
    public record Changes(List<long[]> ranges, String reason) {
    }

    public Changes changedSince(String volumeId, String parentBackupId, String backupId) throws StorageException {
        String v = RbdImages.volume(volumeId);
        String from = backupSnapshot(parentBackupId);
        if (!rbd.snapshots(v).contains(from)) {
            return new Changes(null, "no RBD snapshot of backup " + parentBackupId + " on the volume: compared chunk hashes instead");
        }
        JsonNode info = rbd.info(v).orElseThrow(() -> new StorageException("volume " + volumeId + " has no data on backend " + name));
        boolean fastDiff = false;
        for (JsonNode f : info.path("features")) {
            fastDiff |= f.asText().equals("fast-diff");
        }
        for (JsonNode f : info.path("flags")) {
            if (f.asText().contains("invalid")) {
                return new Changes(null, "the volume's " + f.asText() + " flag is set: compared chunk hashes instead");
            }
        }
        if (!fastDiff) {
            return new Changes(null, "the volume's image has no fast-diff feature: compared chunk hashes instead");
        }
        var out = new ArrayList<long[]>();
        for (JsonNode e : rbd.rbdJson("diff", "--from-snap", from, rbd.spec(v) + "@" + backupSnapshot(backupId))) {
            out.add(new long[]{e.path("offset").asLong(), e.path("length").asLong()});
        }
        return new Changes(out, null);
    }

    /** Keeps only the snapshot of {@code backupId} among the volume's backup snapshots. */
    public void keepOnlyBackupSnapshot(String volumeId, String backupId) throws StorageException {
        String v = RbdImages.volume(volumeId);
        for (String s : rbd.snapshots(v)) {
            if (s.startsWith("backup-") && !s.equals(backupSnapshot(backupId))) {
                rbd.removeSnapshot(v, s);
            }
        }
    }

    public void dropBackupSnapshot(String volumeId, String backupId) throws StorageException {
        String v = RbdImages.volume(volumeId);
        if (rbd.imageExists(v)) {
            rbd.removeSnapshot(v, backupSnapshot(backupId));
        }
    }

    /** A new empty image of {@code sizeBytes} for a restore to write (named for qemu-nbd), not yet the volume. */
    public String restoreScratch(String volumeId, long sizeBytes) throws StorageException {
        String tmp = RbdImages.temp("restore");
        rbd.create(tmp, sizeBytes);
        return tmp;
    }

    public String qemuName(String image) {
        return rbd.qemuFilename(image, null);
    }

    /**
     * Puts a restored image in the volume's place. A volume with Cinder snapshots keeps them on
     * its image, so it is refused rather than replaced.
     */
    public void replaceWithRestored(String volumeId, String scratch) throws StorageException {
        String v = RbdImages.volume(volumeId);
        if (rbd.imageExists(v)) {
            for (String s : rbd.snapshots(v)) {
                if (s.startsWith("snapshot-")) {
                    rbd.remove(scratch);
                    throw new StorageException("volume " + volumeId + " has snapshots on Ceph, which a restore over it would lose; "
                            + "delete them or restore to a new volume");
                }
            }
            rbd.remove(v);
        }
        rbd.rename(scratch, v);
    }

    public void removeScratch(String scratch) throws StorageException {
        rbd.remove(scratch);
    }

    @Override
    public long allocatedBytes(String volumeId) throws StorageException {
        return ownBytes(RbdImages.volume(volumeId));
    }
}
