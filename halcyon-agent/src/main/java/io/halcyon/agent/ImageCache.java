package io.halcyon.agent;

import io.halcyon.model.agent.ImageRef;
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
 * The host's read-only copies of images, one file per image id: fetched once from the controller,
 * checked against the image's SHA-512, then renamed into place. Guest disks are copy-on-write
 * overlays on these files, so a cached image is never modified.
 */
public final class ImageCache {
    private static final Logger log = LoggerFactory.getLogger(ImageCache.class);

    private final Path dir;
    private final ControllerClient controller;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    public ImageCache(Path dir, ControllerClient controller) throws IOException {
        this.dir = requireNonNull(dir, "dir is null");
        this.controller = requireNonNull(controller, "controller is null");
        Files.createDirectories(dir);
    }

    public Path ensure(ImageRef image) throws IOException, InterruptedException {
        Path target = dir.resolve(image.id());
        if (Files.exists(target)) {
            return target;
        }
        var lock = locks.computeIfAbsent(image.id(), id -> new ReentrantLock());
        lock.lock();
        try {
            if (Files.exists(target)) {
                return target;
            }
            Path part = dir.resolve(image.id() + ".part");
            MessageDigest sha;
            try {
                sha = MessageDigest.getInstance("SHA-512");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            long start = System.nanoTime();
            String expected = controller.downloadImage(image.id(), in -> {
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
            if (!expected.isEmpty() && !expected.equalsIgnoreCase(actual)) {
                Files.deleteIfExists(part);
                throw new IOException("image " + image.id() + " arrived corrupted (SHA-512 mismatch)");
            }
            target.toFile().setReadOnly();
            part.toFile().setReadOnly();
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            log.info("event=image_cached image_id={} bytes={} ms={}", image.id(), Files.size(target), (System.nanoTime() - start) / 1_000_000);
            return target;
        } finally {
            lock.unlock();
        }
    }
}
