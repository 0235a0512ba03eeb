package io.halcyon.storage;

import io.halcyon.model.agent.DiskSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * Volumes as qcow2 files under one directory that every host sees at the same path (NFS in
 * production). Layout: {@code images/} read-only bases (one per image), {@code volumes/},
 * {@code snapshots/}, {@code servers/} (root disks) and {@code tmp/}. Disks made from an image are
 * overlays of its base, named by a relative path so the tree can be mounted anywhere; snapshots
 * and clones are standalone sparse copies, so no file ever depends on a volume or snapshot that
 * could be deleted. Every file is built under {@code tmp/} and renamed into place.
 */
public final class FileBackend implements VolumeBackend {
    private static final Logger log = LoggerFactory.getLogger(FileBackend.class);
    private static final String QCOW2 = "qcow2";

    private final String name;
    private final Path root;
    private final double overSubscriptionRatio;
    private final double reservedFraction;
    private final QemuImg qemuImg;

    public FileBackend(String name, Path root, double overSubscriptionRatio, double reservedFraction, QemuImg qemuImg) throws StorageException {
        this.name = requireNonNull(name, "name is null");
        this.root = requireNonNull(root, "root is null").toAbsolutePath().normalize();
        this.overSubscriptionRatio = overSubscriptionRatio;
        this.reservedFraction = reservedFraction;
        this.qemuImg = requireNonNull(qemuImg, "qemuImg is null");
        try {
            for (String d : new String[]{"images", "volumes", "snapshots", "servers", "tmp"}) {
                Files.createDirectories(this.root.resolve(d));
            }
        } catch (IOException e) {
            throw new StorageException("cannot prepare storage directory " + this.root + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    public Path root() {
        return root;
    }

    @Override
    public Optional<Path> localImage(String volumeId) {
        return Optional.of(volume(volumeId));
    }

    Path volume(String id) {
        return root.resolve("volumes").resolve(id + ".qcow2");
    }

    Path snapshot(String id) {
        return root.resolve("snapshots").resolve(id + ".qcow2");
    }

    Path base(ImageData image) {
        return root.resolve("images").resolve(image.imageId() + "." + baseFormat(image));
    }

    Path server(String id) {
        return root.resolve("servers").resolve(id + ".qcow2");
    }

    private static String baseFormat(ImageData image) {
        return "iso".equals(image.format()) ? "raw" : image.format();
    }

    private Path temp(String purpose) {
        return root.resolve("tmp").resolve(purpose + "-" + UUID.randomUUID() + ".part");
    }

    private static void commit(Path tmp, Path target) throws StorageException {
        try {
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new StorageException("cannot move " + tmp.getFileName() + " into place: " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a later sweep of tmp/ removes it
        }
    }

    @Override
    public Capacity capacity() throws StorageException {
        try {
            FileStore fs = Files.getFileStore(root);
            return new Capacity(fs.getTotalSpace(), fs.getUsableSpace(), overSubscriptionRatio, reservedFraction);
        } catch (IOException e) {
            throw new StorageException("cannot read the capacity of " + root + ": " + e.getMessage(), e);
        }
    }

    @Override
    public DiskSpec export(String volumeId, String device, boolean readOnly) {
        return new DiskSpec(volumeId, "file", volume(volumeId).toString(), QCOW2, serial(volumeId), device, readOnly, null, 0);
    }

    /** virtio-blk serials hold 20 bytes: the guest sees the volume id's first 20 characters. */
    public static String serial(String volumeId) {
        return volumeId.length() > 20 ? volumeId.substring(0, 20) : volumeId;
    }

    @Override
    public DiskSpec rootDisk(String serverId, ImageData image, long sizeBytes) {
        var base = image == null ? null : new DiskSpec.BaseImage(image.imageId(), base(image).toString(), baseFormat(image), image.sha512());
        return new DiskSpec(null, "file", server(serverId).toString(), QCOW2, null, "vda", false, base, sizeBytes);
    }

    @Override
    public void ensureBase(ImageData image) throws StorageException {
        Path target = base(image);
        if (Files.exists(target)) {
            return;
        }
        if (image.source() == null || !Files.isRegularFile(image.source())) {
            throw new StorageException("image " + image.imageId() + " has no data to make a base from");
        }
        Path tmp = temp("base");
        try {
            Process p = new ProcessBuilder("cp", "--sparse=always", "--reflink=auto", image.source().toString(), tmp.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(3600, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new StorageException("cannot copy image " + image.imageId() + ": " + out.trim());
            }
            tmp.toFile().setReadOnly();
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new StorageException("cannot copy image " + image.imageId() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            deleteQuietly(tmp);
            throw new StorageException("interrupted copying image " + image.imageId(), e);
        }
        if (Files.exists(target)) {
            deleteQuietly(tmp);
            return;
        }
        commit(tmp, target);
        log.info("event=image_base_created backend={} image_id={}", name, image.imageId());
    }

    @Override
    public boolean volumeExists(String volumeId) {
        return Files.exists(volume(volumeId));
    }

    @Override
    public void createBlank(String volumeId, long sizeBytes) throws StorageException {
        if (volumeExists(volumeId)) {
            return;
        }
        Path tmp = temp("volume");
        qemuImg.create(tmp, sizeBytes, null, null);
        commit(tmp, volume(volumeId));
    }

    @Override
    public void createFromImage(String volumeId, ImageData image, long sizeBytes) throws StorageException {
        if (volumeExists(volumeId)) {
            return;
        }
        ensureBase(image);
        Path tmp = temp("volume");
        // relative to tmp/ and to volumes/ alike, so the overlay stays valid after the rename
        String backing = "../images/" + base(image).getFileName();
        long size = Math.max(sizeBytes, image.virtualSize());
        qemuImg.create(tmp, size, backing, baseFormat(image));
        commit(tmp, volume(volumeId));
    }

    @Override
    public void createFromSnapshot(String volumeId, String snapshotId, long sizeBytes) throws StorageException {
        copy(volumeId, snapshot(snapshotId), "snapshot " + snapshotId, sizeBytes);
    }

    @Override
    public void createFromVolume(String volumeId, String sourceVolumeId, long sizeBytes) throws StorageException {
        copy(volumeId, volume(sourceVolumeId), "volume " + sourceVolumeId, sizeBytes);
    }

    private void copy(String volumeId, Path source, String what, long sizeBytes) throws StorageException {
        if (volumeExists(volumeId)) {
            return;
        }
        if (!Files.exists(source)) {
            throw new StorageException(what + " has no data on backend " + name);
        }
        Path tmp = temp("volume");
        qemuImg.convert(source, QCOW2, tmp, QCOW2);
        if (qemuImg.info(tmp, QCOW2).virtualSize() < sizeBytes) {
            qemuImg.resize(tmp, QCOW2, sizeBytes);
        }
        commit(tmp, volume(volumeId));
    }

    @Override
    public void extend(String volumeId, long sizeBytes) throws StorageException {
        Path v = volume(volumeId);
        if (!Files.exists(v)) {
            throw new StorageException("volume " + volumeId + " has no data on backend " + name);
        }
        if (qemuImg.info(v, QCOW2).virtualSize() >= sizeBytes) {
            return;
        }
        qemuImg.resize(v, QCOW2, sizeBytes);
    }

    @Override
    public void deleteVolume(String volumeId) throws StorageException {
        delete(volume(volumeId));
    }

    private static void delete(Path p) throws StorageException {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new StorageException("cannot delete " + p.getFileName() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean snapshotExists(String snapshotId) {
        return Files.exists(snapshot(snapshotId));
    }

    @Override
    public void createSnapshot(String snapshotId, String volumeId) throws StorageException {
        if (snapshotExists(snapshotId)) {
            return;
        }
        Path v = volume(volumeId);
        if (!Files.exists(v)) {
            throw new StorageException("volume " + volumeId + " has no data on backend " + name);
        }
        Path tmp = temp("snapshot");
        qemuImg.convert(v, QCOW2, tmp, QCOW2);
        commit(tmp, snapshot(snapshotId));
    }

    @Override
    public void deleteSnapshot(String snapshotId) throws StorageException {
        delete(snapshot(snapshotId));
    }

    @Override
    public void exportToImage(String volumeId, String format, Optional<ImageData> origin, Path target) throws StorageException {
        Path v = volume(volumeId);
        if (origin.isPresent() && baseFormat(origin.get()).equals(format) && Files.exists(base(origin.get()))) {
            var info = qemuImg.info(v, QCOW2);
            boolean overlayOfOrigin = info.backingFile() != null && info.backingFile().endsWith("/" + base(origin.get()).getFileName());
            if (overlayOfOrigin && qemuImg.topLayerEmpty(v)) {
                try {
                    Files.copy(base(origin.get()), target, StandardCopyOption.REPLACE_EXISTING);
                    target.toFile().setWritable(true);
                    return;
                } catch (IOException e) {
                    throw new StorageException("cannot copy image data: " + e.getMessage(), e);
                }
            }
        }
        qemuImg.convert(v, QCOW2, target, "iso".equals(format) ? "raw" : format);
    }

    @Override
    public void deleteRootDisk(String serverId) throws StorageException {
        delete(server(serverId));
        // what an agent left half-made (it builds the overlay under this hidden name)
        delete(server(serverId).resolveSibling("." + server(serverId).getFileName() + ".part"));
    }

    private Set<String> ids(String dir, String suffix) throws StorageException {
        var out = new HashSet<String>();
        try (var s = Files.list(root.resolve(dir))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(suffix))
                    .forEach(n -> out.add(n.substring(0, n.length() - suffix.length())));
        } catch (IOException e) {
            throw new StorageException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public Set<String> volumeIds() throws StorageException {
        return ids("volumes", ".qcow2");
    }

    @Override
    public Set<String> snapshotIds() throws StorageException {
        return ids("snapshots", ".qcow2");
    }

    @Override
    public Set<String> rootDiskIds() throws StorageException {
        return ids("servers", ".qcow2");
    }

    @Override
    public void cleanTemporary(Instant cutoff) throws StorageException {
        try (var s = Files.list(root.resolve("tmp"))) {
            for (Path p : s.toList()) {
                FileTime t = Files.getLastModifiedTime(p);
                if (t.toInstant().isBefore(cutoff)) {
                    Files.deleteIfExists(p);
                    log.info("event=storage_temp_removed backend={} file={}", name, p.getFileName());
                }
            }
        } catch (IOException e) {
            throw new StorageException("cannot sweep tmp: " + e.getMessage(), e);
        }
    }

    @Override
    public long allocatedBytes(String volumeId) throws StorageException {
        return qemuImg.info(volume(volumeId), QCOW2).actualSize();
    }
}
