package io.halcyon.api.image;

import io.halcyon.model.image.Image;
import io.halcyon.model.image.ImageStatus;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/** Registers an image from a local file (the operator's seed images), with the same checks as an upload. */
public final class ImageImporter {
    private final Resources res;
    private final ImageFiles files;

    public ImageImporter(Resources res, ImageFiles files) {
        this.res = requireNonNull(res, "res is null");
        this.files = requireNonNull(files, "files is null");
    }

    /** Imports {@code file} as a public image named {@code name}, unless an active image of that name exists. */
    public Image ensurePublic(String name, Path file, String diskFormat, String ownerProject)
            throws IOException, ImageFiles.UploadException, ImageInspector.InvalidImageException {
        res.sync();
        Optional<Image> existing = res.images().list().stream().map(Versioned::value)
                .filter(i -> name.equals(i.name()) && "public".equals(i.visibility()) && i.status() == ImageStatus.ACTIVE)
                .findFirst();
        if (existing.isPresent()) {
            return existing.get();
        }
        if (!ImageApi.DISK_FORMATS.contains(diskFormat)) {
            throw new ImageInspector.InvalidImageException("disk format " + diskFormat + " is not supported");
        }
        // one id per seeded name: controllers seeding at once race for one record instead of making two images
        String id = java.util.UUID.nameUUIDFromBytes(("halcyon-seed-image:" + name).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .toString();
        Optional<Versioned<Image>> seeded = res.images().get(id);
        if (seeded.isPresent()) {
            return seeded.get().value();
        }
        ImageFiles.Stored stored;
        try (InputStream in = Files.newInputStream(file)) {
            stored = files.receive(id, in, Files.size(file), Long.MAX_VALUE);
        }
        long virtual;
        try {
            virtual = ImageInspector.inspect(stored.tempFile(), diskFormat, stored.size());
        } catch (ImageInspector.InvalidImageException e) {
            files.discard(stored);
            throw e;
        }
        files.commit(stored, id);
        Instant now = res.clock().now();
        var image = new Image(id, name, ownerProject, "public", ImageStatus.ACTIVE, diskFormat, "bare", stored.size(), virtual,
                stored.md5(), "sha512", stored.sha512(), 0, 0, false, false, List.of(), Map.of(), now, now);
        try {
            res.awaitRevision(res.repo(Kinds.IMAGES).create(image));
        } catch (io.halcyon.runtime.ConflictException e) {
            res.sync();
            return res.images().get(id).map(Versioned::value).orElseThrow(() -> e);
        }
        return image;
    }
}
