package io.halcyon.model.compute;

import static java.util.Objects.requireNonNull;

/**
 * A volume the user wants attached to a server: the root disk when {@code bootIndex} is 0,
 * otherwise a data disk. Removing it from the server's spec is the request to detach it.
 */
public record BlockDevice(String volumeId, String attachmentId, String device, Integer bootIndex, boolean deleteOnTermination) {
    public BlockDevice {
        requireNonNull(volumeId, "volumeId is null");
        requireNonNull(attachmentId, "attachmentId is null");
        requireNonNull(device, "device is null");
    }

    public boolean root() {
        return bootIndex != null && bootIndex == 0;
    }
}
