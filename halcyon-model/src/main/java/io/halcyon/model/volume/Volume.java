package io.halcyon.model.volume;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * A Cinder volume. {@code status} is both what the user sees and the work a reconciler owes:
 * creating, extending (to {@code targetSizeGb}), uploading ({@code upload}) and deleting are
 * finished from the store by the leader, whatever crashed in between. {@code imageMetadata} is
 * Cinder's volume_image_metadata of a volume made from an image.
 */
public record Volume(String id, String projectId, String userId, String name, String description, int sizeGb, String volumeType,
                     String backend, VolumeStatus status, VolumeSource source, Map<String, String> metadata, boolean bootable,
                     List<VolumeAttachment> attachments, Map<String, String> imageMetadata, String failReason,
                     Integer targetSizeGb, Upload upload, boolean cascade, Instant createdAt, Instant updatedAt) {
    public Volume {
        requireNonNull(id, "id is null");
        requireNonNull(projectId, "projectId is null");
        requireNonNull(status, "status is null");
        requireNonNull(source, "source is null");
        metadata = metadata == null ? Map.of() : Map.copyOf(new TreeMap<>(metadata));
        attachments = attachments == null ? List.of() : List.copyOf(attachments);
        imageMetadata = imageMetadata == null ? Map.of() : Map.copyOf(new TreeMap<>(imageMetadata));
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public Volume withStatus(VolumeStatus s, Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, s, source, metadata, bootable, attachments,
                imageMetadata, failReason, targetSizeGb, upload, cascade, createdAt, now);
    }

    public Volume withError(VolumeStatus s, String reason, Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, s, source, metadata, bootable, attachments,
                imageMetadata, reason, null, null, cascade, createdAt, now);
    }

    public Volume created(boolean isBootable, Map<String, String> imageMeta, Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, VolumeStatus.AVAILABLE, source, metadata,
                isBootable, attachments, imageMeta, null, null, null, cascade, createdAt, now);
    }

    /** Written by a backup restore: available, with the backed-up volume's bootable flag and image metadata. */
    public Volume restored(boolean isBootable, Map<String, String> imageMeta, Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, VolumeStatus.AVAILABLE, source, metadata,
                isBootable, attachments, imageMeta, null, null, null, cascade, createdAt, now);
    }

    public Volume withSize(int gb, Instant now) {
        return new Volume(id, projectId, userId, name, description, gb, volumeType, backend, VolumeStatus.AVAILABLE, source, metadata,
                bootable, attachments, imageMetadata, null, null, null, cascade, createdAt, now);
    }

    public Volume extending(int target, Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, VolumeStatus.EXTENDING, source, metadata,
                bootable, attachments, imageMetadata, failReason, target, upload, cascade, createdAt, now);
    }

    public Volume uploading(Upload u, Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, VolumeStatus.UPLOADING, source, metadata,
                bootable, attachments, imageMetadata, failReason, targetSizeGb, u, cascade, createdAt, now);
    }

    public Volume uploaded(Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, upload == null ? VolumeStatus.AVAILABLE
                : upload.previous(), source, metadata, bootable, attachments, imageMetadata, failReason, targetSizeGb, null, cascade, createdAt, now);
    }

    public Volume deleting(boolean withSnapshots, Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, VolumeStatus.DELETING, source, metadata,
                bootable, attachments, imageMetadata, failReason, null, null, withSnapshots, createdAt, now);
    }

    public Volume withAttachments(List<VolumeAttachment> a, VolumeStatus s, Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, s, source, metadata, bootable, a,
                imageMetadata, failReason, targetSizeGb, upload, cascade, createdAt, now);
    }

    public Volume withDetails(String n, String d, Map<String, String> md, Instant now) {
        return new Volume(id, projectId, userId, n, d, sizeGb, volumeType, backend, status, source, md, bootable, attachments,
                imageMetadata, failReason, targetSizeGb, upload, cascade, createdAt, now);
    }

    public Volume withBootable(boolean b, Instant now) {
        return new Volume(id, projectId, userId, name, description, sizeGb, volumeType, backend, status, source, metadata, b, attachments,
                imageMetadata, failReason, targetSizeGb, upload, cascade, createdAt, now);
    }

    public boolean attached() {
        return !attachments.isEmpty();
    }
}
