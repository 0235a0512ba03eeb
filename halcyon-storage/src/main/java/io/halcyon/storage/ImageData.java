package io.halcyon.storage;

import java.nio.file.Path;

import static java.util.Objects.requireNonNull;

/** An image's data as a backend needs it to make a base: where the controller keeps it, and its format. */
public record ImageData(String imageId, String format, String sha512, long virtualSize, Path source) {
    public ImageData {
        requireNonNull(imageId, "imageId is null");
        requireNonNull(format, "format is null");
    }
}
