package io.halcyon.agent;

import io.halcyon.model.agent.DiskSpec;
import io.halcyon.storage.QemuImg;
import io.halcyon.storage.Rbd;
import io.halcyon.storage.RbdImages;
import io.halcyon.storage.StorageException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import static java.util.Objects.requireNonNull;

/**
 * Makes sure an image's read-only base exists where the controller's storage backend says it is
 * (and, on Ceph, the root disk cloned from it).
 * Usually the controller made it already; when it is missing (a fresh mount, a base removed by
 * hand) it is fetched once from the controller, checked against the image's SHA-512, then renamed
 * into place. Root disks and volumes are copy-on-write overlays of these files, so a base is never
 * modified.
 */
public final class ImageCache {
    private static final Logger log = LoggerFactory.getLogger(ImageCache.class);

    private final ControllerClient controller;
    private final Path localDir;
    private final String qemuImgBinary;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    public ImageCache(ControllerClient controller) {
        this(controller, Path.of(System.getProperty("java.io.tmpdir"), "halcyon-images"), "qemu-img");
    }

    /** {@code localDir} holds images fetched to import into Ceph, where there is no shared file system to put them in. */
    public ImageCache(ControllerClient controller, Path localDir, String qemuImgBinary) {
        this.controller = requireNonNull(controller, "controller is null");
        this.localDir = requireNonNull(localDir, "localDir is null");
        this.qemuImgBinary = requireNonNull(qemuImgBinary, "qemuImgBinary is null");
    }

    /** Makes sure the root disk exists: an overlay's base on shared storage, or on Ceph the base and the clone itself. */
    public void prepareRoot(DiskSpec root, String imageFormat) throws IOException, InterruptedException {
        if (!root.rbd()) {
            ensure(root.base());
            return;
        }
        var rbd = Rbd.forDisk(root, 600);
        var pool = new RbdImages(rbd, new QemuImg(qemuImgBinary));
        try {
            if (rbd.imageExists(root.rbdImage())) {
                return;
            }
            String imageId = root.base().imageId();
            var lock = locks.computeIfAbsent("rbd:" + root.base().path(), id -> new ReentrantLock());
            lock.lock();
            try {
                if (!pool.baseExists(imageId)) {
                    // first boot of this image on the pool: fetch it once, import it as the base
                    Path file = ensureFile(imageId, root.base().sha512(), localDir.resolve(imageId));
                    pool.ensureBase(imageId, file, imageFormat == null ? "qcow2" : imageFormat);
                }
            } finally {
                lock.unlock();
            }
            pool.cloneBase(imageId, root.rbdImage(), root.sizeBytes());
            log.info("event=rbd_root_disk_created image={} base={}", root.path(), root.base().path());
        } catch (StorageException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    public Path ensure(DiskSpec.BaseImage base) throws IOException, InterruptedException {
        return ensureFile(base.imageId(), base.sha512(), Path.of(base.path()));
    }

    private Path ensureFile(String imageId, String sha512, Path target) throws IOException, InterruptedException {
        if (Files.exists(target)) {
            return target;
        }
        var lock = locks.computeIfAbsent(target.toString(), id -> new ReentrantLock());
        lock.lock();
        try {
            if (Files.exists(target)) {
                return target;
            }
            Files.createDirectories(target.getParent());
            Path part = target.resolveSibling("." + target.getFileName() + "." + ProcessHandle.current().pid() + ".part");
            MessageDigest sha;
            try {
                sha = MessageDigest.getInstance("SHA-512");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            long start = System.nanoTime();
            String expected = controller.downloadImage(imageId, in -> {
                try (OutputStream out = Files.newOutputStream(part)) {
                    byte[] buf = new byte[1 << 20];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        sha.update(buf, 0, n);
                        out.write(buf, 0, n);
                    }
                }
            });
            String actual = HexFormat.of().formatHex(sha.digest());
            String wanted = sha512 != null && !sha512.isEmpty() ? sha512 : expected;
            if (!wanted.isEmpty() && !wanted.equalsIgnoreCase(actual)) {
                Files.deleteIfExists(part);
                throw new IOException("image " + imageId + " arrived corrupted (SHA-512 mismatch)");
            }
            target.toFile().setReadOnly();
            part.toFile().setReadOnly();
            if (Files.exists(target)) {
                Files.deleteIfExists(part); // another host fetched it meanwhile
                return target;
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            log.info("event=image_base_fetched image_id={} bytes={} ms={}", imageId, Files.size(target), (System.nanoTime() - start) / 1_000_000);
            return target;
        } finally {
            lock.unlock();
        }
    }
}
