package io.halcyon.model.volume;

import static java.util.Objects.requireNonNull;

/** What a volume is made from: nothing (blank), an image, a snapshot or another volume. */
public record VolumeSource(Kind kind, String id) {
    public enum Kind { BLANK, IMAGE, SNAPSHOT, VOLUME }

    public VolumeSource {
        requireNonNull(kind, "kind is null");
        if (kind != Kind.BLANK) {
            requireNonNull(id, "id is null");
        }
    }

    public static VolumeSource blank() {
        return new VolumeSource(Kind.BLANK, null);
    }
}
