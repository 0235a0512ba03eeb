package io.halcyon.model.agent;

import static java.util.Objects.requireNonNull;

/**
 * A disk as QEMU opens it, decided by the controller's storage backend: a file (qcow2 or raw) on
 * storage every host sees at the same path. {@code base}, when set, tells the agent to create the
 * file as a copy-on-write overlay of that base image (of {@code sizeBytes}) if it does not exist.
 * {@code serial} is what the guest sees in /sys/block/vdX/serial (the volume id, cut to 20 bytes).
 */
public record DiskSpec(String volumeId, String driver, String path, String format, String serial, String device, boolean readOnly,
                       BaseImage base, long sizeBytes) {
    public DiskSpec {
        requireNonNull(driver, "driver is null");
        requireNonNull(path, "path is null");
        requireNonNull(format, "format is null");
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
