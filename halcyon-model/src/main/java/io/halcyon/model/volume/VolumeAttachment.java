package io.halcyon.model.volume;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/** A volume attached (or being attached) to a server at a device name. */
public record VolumeAttachment(String attachmentId, String serverId, String device, Instant attachedAt) {
    public VolumeAttachment {
        requireNonNull(attachmentId, "attachmentId is null");
        requireNonNull(serverId, "serverId is null");
        requireNonNull(device, "device is null");
    }
}
