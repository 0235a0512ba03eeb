package io.halcyon.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

import static java.util.Objects.requireNonNull;

/**
 * The naming and the copy-on-write layout of a pool, shared by the controller's backend and the
 * agents (which make root disks as they boot). Each image's data is imported once as
 * {@code image-<id>} with a protected snapshot {@code base}; root disks ({@code server-<id>}) and
 * volumes made from an image ({@code volume-<id>}) are clones of that snapshot, so they cost no
 * copy. Everything is built under a {@code tmp-<purpose>-<epoch millis>-<random>} name and renamed
 * into place only when complete, so a name that exists is whole.
 */
public final class RbdImages {
    private static final Logger log = LoggerFactory.getLogger(RbdImages.class);
    public static final String BASE_SNAPSHOT = "base";

    private final Rbd rbd;
    private final QemuImg qemuImg;

    public RbdImages(Rbd rbd, QemuImg qemuImg) {
        this.rbd = requireNonNull(rbd, "rbd is null");
        this.qemuImg = requireNonNull(qemuImg, "qemuImg is null");
    }

    public Rbd rbd() {
        return rbd;
    }

    public static String base(String imageId) {
        return "image-" + imageId;
    }

    public static String volume(String id) {
        return "volume-" + id;
    }

    public static String server(String id) {
        return "server-" + id;
    }

    public static String snapshot(String id) {
        return "snapshot-" + id;
    }

    public static String temp(String purpose) {
        return "tmp-" + purpose + "-" + System.currentTimeMillis() + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** When a temporary image was made, from its name; empty for any other name. */
    public static Optional<Instant> tempCreated(String name) {
        if (!name.startsWith("tmp-")) {
            return Optional.empty();
        }
        String[] parts = name.split("-");
        try {
            return Optional.of(Instant.ofEpochMilli(Long.parseLong(parts[parts.length - 2])));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    public boolean baseExists(String imageId) throws StorageException {
        return rbd.imageExists(base(imageId));
    }

    /** Imports an image file as the pool's base of that image, unless it is there already. */
    public void ensureBase(String imageId, Path source, String sourceFormat) throws StorageException {
        if (baseExists(imageId)) {
            return;
        }
        if (source == null || !source.toFile().isFile()) {
            throw new StorageException("image " + imageId + " has no data to make a base from");
        }
        String tmp = temp("base");
        long start = System.nanoTime();
        try {
            qemuImg.convert(source.toString(), "iso".equals(sourceFormat) ? "raw" : sourceFormat, rbd.qemuFilename(tmp, null), "raw");
            rbd.createSnapshot(tmp, BASE_SNAPSHOT);
            rbd.protect(tmp, BASE_SNAPSHOT);
            rbd.rename(tmp, base(imageId));
        } catch (Rbd.RbdException e) {
            rbd.remove(tmp);
            if (e.exists() && baseExists(imageId)) {
                return; // another host or controller imported it meanwhile
            }
            throw e;
        } catch (StorageException e) {
            rbd.remove(tmp);
            throw e;
        }
        log.info("event=rbd_base_created pool={} image_id={} ms={}", rbd.pool(), imageId, (System.nanoTime() - start) / 1_000_000);
    }

    /** A clone of the image's base named {@code target}, at least {@code sizeBytes} large; nothing when it exists. */
    public void cloneBase(String imageId, String target, long sizeBytes) throws StorageException {
        // three commands, no lookups: a target that exists already makes the rename fail, which counts as done
        String tmp = temp("clone");
        try {
            rbd.clone(base(imageId), BASE_SNAPSHOT, tmp);
            rbd.growTo(tmp, sizeBytes);
            rbd.rename(tmp, target);
        } catch (Rbd.RbdException e) {
            rbd.remove(tmp);
            if (e.exists() && rbd.imageExists(target)) {
                return;
            }
            throw e;
        } catch (StorageException e) {
            rbd.remove(tmp);
            throw e;
        }
    }
}
