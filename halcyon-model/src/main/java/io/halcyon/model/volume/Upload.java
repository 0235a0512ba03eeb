package io.halcyon.model.volume;

import static java.util.Objects.requireNonNull;

/** A pending upload of a volume to an image (os-volume_upload_image); {@code previous} is the status to return to. */
public record Upload(String imageId, String diskFormat, VolumeStatus previous) {
    public Upload {
        requireNonNull(imageId, "imageId is null");
        requireNonNull(diskFormat, "diskFormat is null");
        requireNonNull(previous, "previous is null");
    }
}
