package io.halcyon.api.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks that uploaded data is what its disk_format says and safe to hand to QEMU: a qcow2 must not
 * name a backing file or an external data file (either would let a tenant read host files), and a
 * "raw" image must not secretly be a qcow2. Returns the virtual size.
 */
public final class ImageInspector {
    private static final int QCOW2_MAGIC = 0x514649fb;
    private static final long INCOMPAT_EXTERNAL_DATA_FILE = 1L << 2;

    private ImageInspector() {
    }

    public static final class InvalidImageException extends Exception {
        public InvalidImageException(String message) {
            super(message);
        }
    }

    public static long inspect(Path file, String diskFormat, long size) throws IOException, InvalidImageException {
        byte[] head = new byte[112];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        }
        ByteBuffer b = ByteBuffer.wrap(head);
        boolean looksQcow2 = n >= 72 && b.getInt(0) == QCOW2_MAGIC;
        switch (diskFormat) {
            case "qcow2" -> {
                if (!looksQcow2) {
                    throw new InvalidImageException("Image data is not in qcow2 format, but disk_format is qcow2.");
                }
                int version = b.getInt(4);
                if (version != 2 && version != 3) {
                    throw new InvalidImageException("Unsupported qcow2 version " + version + ".");
                }
                if (b.getLong(8) != 0 || b.getInt(16) != 0) {
                    throw new InvalidImageException("qcow2 images that name a backing file are not accepted.");
                }
                if (version == 3 && n >= 80 && (b.getLong(72) & INCOMPAT_EXTERNAL_DATA_FILE) != 0) {
                    throw new InvalidImageException("qcow2 images with an external data file are not accepted.");
                }
                long virtual = b.getLong(24);
                if (virtual <= 0) {
                    throw new InvalidImageException("qcow2 header has an invalid virtual size.");
                }
                return virtual;
            }
            case "raw", "iso" -> {
                if (looksQcow2) {
                    throw new InvalidImageException("Image data is in qcow2 format, but disk_format is " + diskFormat + ".");
                }
                return size;
            }
            default -> throw new InvalidImageException("disk_format " + diskFormat + " cannot be inspected.");
        }
    }
}
