package io.halcyon.model.agent;

import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * A disk as QEMU opens it, decided by the controller's storage backend: a file (qcow2 or raw) on
 * storage every host sees at the same path (driver {@code file}), or an RBD image (driver
 * {@code rbd}, {@code path} pool/image, {@code options} the pool, ceph.conf and Ceph user). {@code base}, when set, tells the agent to create the
 * file as a copy-on-write overlay of that base image (of {@code sizeBytes}) if it does not exist.
 * {@code serial} is what the guest sees in /sys/block/vdX/serial (the volume id, cut to 20 bytes).
 */
public record DiskSpec(String volumeId, String driver, String path, String format, String serial, String device, boolean readOnly,
                       BaseImage base, long sizeBytes, Map<String, String> options) {
    public DiskSpec {
        requireNonNull(driver, "driver is null");
        requireNonNull(path, "path is null");
        requireNonNull(format, "format is null");
        options = options == null ? Map.of() : Map.copyOf(options);
    }

    public DiskSpec(String volumeId, String driver, String path, String format, String serial, String device, boolean readOnly,
                    BaseImage base, long sizeBytes) {
        this(volumeId, driver, path, format, serial, device, readOnly, base, sizeBytes, Map.of());
    }

    public boolean rbd() {
        return "rbd".equals(driver);
    }

    /** The RBD image's name within its pool. */
    public String rbdImage() {
        return path.substring(path.indexOf('/') + 1);
    }

    /** A read-only base image on shared storage; the agent fetches it from the controller if it is missing. */
    public record BaseImage(String imageId, String path, String format, String sha512) {
        public BaseImage {
            requireNonNull(imageId, "imageId is null");
            requireNonNull(path, "path is null");
            requireNonNull(format, "format is null");
        }
    }
}
