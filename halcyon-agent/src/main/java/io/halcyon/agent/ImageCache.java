package io.halcyon.agent;

import io.halcyon.model.agent.DiskSpec;
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
 * Makes sure an image's read-only base exists where the controller's storage backend says it is.
 * Usually the controller made it already; when it is missing (a fresh mount, a base removed by
 * hand) it is fetched once from the controller, checked against the image's SHA-512, then renamed
 * into place. Root disks and volumes are copy-on-write overlays of these files, so a base is never
 * modified.
 */
public final class ImageCache {
    private static final Logger log = LoggerFactory.getLogger(ImageCache.class);

    private final ControllerClient controller;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    public ImageCache(ControllerClient controller) {
        this.controller = requireNonNull(controller, "controller is null");
    }

    public Path ensure(DiskSpec.BaseImage base) throws IOException, InterruptedException {
        Path target = Path.of(base.path());
        if (Files.exists(target)) {
            return target;
        }
        var lock = locks.computeIfAbsent(base.path(), id -> new ReentrantLock());
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
            String expected = controller.downloadImage(base.imageId(), in -> {
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
            String wanted = base.sha512() != null && !base.sha512().isEmpty() ? base.sha512() : expected;
            if (!wanted.isEmpty() && !wanted.equalsIgnoreCase(actual)) {
                Files.deleteIfExists(part);
                throw new IOException("image " + base.imageId() + " arrived corrupted (SHA-512 mismatch)");
            }
            target.toFile().setReadOnly();
            part.toFile().setReadOnly();
            if (Files.exists(target)) {
                Files.deleteIfExists(part); // another host fetched it meanwhile
                return target;
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            log.info("event=image_base_fetched image_id={} bytes={} ms={}", base.imageId(), Files.size(target), (System.nanoTime() - start) / 1_000_000);
            return target;
        } finally {
            lock.unlock();
        }
    }
}
