package io.halcyon.api.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;
import java.util.function.Predicate;

import static java.util.Objects.requireNonNull;

/**
 * Image data in a directory: one file per image id. An upload streams to a temporary file while
 * hashing (MD5 for Glance's checksum, SHA-512 for its multihash), is fsynced, then renamed into
 * place, so a crash leaves either the whole image or none of it.
 */
public final class ImageFiles {
    private final Path dir;

    public ImageFiles(Path dir) {
        this.dir = requireNonNull(dir, "dir is null");
    }

    /**
     * Removes what uploads a crash cut off: every temporary file of an image no upload can own now
     * ({@code owned} says which images may be being written, by another controller sharing this
     * directory), and any left untouched for an hour, which a live upload keeps fresh.
     */
    public void init(Predicate<String> owned) throws IOException {
        Files.createDirectories(dir);
        var cutoff = java.time.Instant.now().minus(java.time.Duration.ofHours(1));
        try (var stale = Files.newDirectoryStream(dir, ".upload-*")) {
            for (Path p : stale) {
                try {
                    String name = p.getFileName().toString();
                    String imageId = name.length() >= 8 + 36 ? name.substring(8, 8 + 36) : "";
                    if (!owned.test(imageId) || Files.getLastModifiedTime(p).toInstant().isBefore(cutoff)) {
                        Files.deleteIfExists(p);
                    }
                } catch (java.nio.file.NoSuchFileException e) {
                    // another controller finished or removed it
                }
            }
        }
    }

    public Path path(String imageId) {
        return dir.resolve(imageId);
    }

    public boolean exists(String imageId) {
        return Files.isRegularFile(path(imageId));
    }

    public void delete(String imageId) throws IOException {
        Files.deleteIfExists(path(imageId));
    }

    public record Stored(Path tempFile, long size, String md5, String sha512) {
    }

    /** Streams {@code in} into a temporary file; fails past {@code maxBytes} or when {@code expected} (>= 0) is not met. */
    public Stored receive(String imageId, InputStream in, long expected, long maxBytes) throws IOException, UploadException {
        Path tmp = dir.resolve(".upload-" + imageId + "-" + UUID.randomUUID());
        MessageDigest md5 = digest("MD5");
        MessageDigest sha512 = digest("SHA-512");
        long total = 0;
        try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (total > maxBytes) {
                    throw new UploadException(413, "Image exceeds the size limit of " + maxBytes + " bytes.");
                }
                md5.update(buf, 0, n);
                sha512.update(buf, 0, n);
                out.write(buf, 0, n);
            }
        } catch (IOException | UploadException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        if (expected >= 0 && total != expected) {
            Files.deleteIfExists(tmp);
            throw new UploadException(400, "Upload ended after " + total + " of " + expected + " bytes.");
        }
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        return new Stored(tmp, total, HexFormat.of().formatHex(md5.digest()), HexFormat.of().formatHex(sha512.digest()));
    }

    /** A file for data produced elsewhere (a volume written out as an image), on this directory's filesystem. */
    public Path scratch(String imageId) {
        return dir.resolve(".upload-" + imageId + "-" + UUID.randomUUID());
    }

    /** Hashes a scratch file and makes it the image's data. */
    public Stored adopt(String imageId, Path scratch) throws IOException {
        MessageDigest md5 = digest("MD5");
        MessageDigest sha512 = digest("SHA-512");
        long total = 0;
        try (InputStream in = Files.newInputStream(scratch)) {
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                md5.update(buf, 0, n);
                sha512.update(buf, 0, n);
            }
        }
        try (FileChannel ch = FileChannel.open(scratch, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        var stored = new Stored(scratch, total, HexFormat.of().formatHex(md5.digest()), HexFormat.of().formatHex(sha512.digest()));
        commit(stored, imageId);
        return stored;
    }

    public void commit(Stored stored, String imageId) throws IOException {
        try {
            Files.move(stored.tempFile(), path(imageId), StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(stored.tempFile(), path(imageId), StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException ignored) {
            // directory fsync is best effort on filesystems that refuse it
        }
    }

    public void discard(Stored stored) throws IOException {
        Files.deleteIfExists(stored.tempFile());
    }

    /** A client-caused upload failure with the HTTP status to answer. */
    public static final class UploadException extends Exception {
        private final int status;

        public UploadException(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
