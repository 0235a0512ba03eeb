package io.halcyon.model.image;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * A Glance image. {@code checksum} is the MD5 Glance always showed; {@code hashValue} the SHA-512
 * of the multihash fields ({@code os_hash_algo}/{@code os_hash_value}). {@code properties} holds
 * the free-form extra properties clients set.
 */
public record Image(String id, String name, String owner, String visibility, ImageStatus status, String diskFormat,
                    String containerFormat, Long size, Long virtualSize, String checksum, String hashAlgo,
                    String hashValue, int minDisk, int minRam, boolean isProtected, boolean hidden, List<String> tags,
                    Map<String, String> properties, Instant createdAt, Instant updatedAt) {
    public Image {
        requireNonNull(id, "id is null");
        requireNonNull(owner, "owner is null");
        requireNonNull(visibility, "visibility is null");
        requireNonNull(status, "status is null");
        tags = tags == null ? List.of() : List.copyOf(tags);
        properties = properties == null ? Map.of() : Map.copyOf(new TreeMap<>(properties));
        requireNonNull(createdAt, "createdAt is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public Image withStatus(ImageStatus s, Instant now) {
        return new Image(id, name, owner, visibility, s, diskFormat, containerFormat, size, virtualSize, checksum, hashAlgo,
                hashValue, minDisk, minRam, isProtected, hidden, tags, properties, createdAt, now);
    }

    public Image withData(ImageStatus s, String fmt, long sz, Long virtual, String md5, String sha512, Instant now) {
        return new Image(id, name, owner, visibility, s, fmt, containerFormat, sz, virtual, md5, "sha512", sha512, minDisk,
                minRam, isProtected, hidden, tags, properties, createdAt, now);
    }

    public Image withAttributes(String n, String vis, String dfmt, String cfmt, int minD, int minR, boolean prot, boolean hid,
                                List<String> t, Map<String, String> props, Instant now) {
        return new Image(id, n, owner, vis, status, dfmt, cfmt, size, virtualSize, checksum, hashAlgo, hashValue, minD, minR,
                prot, hid, t, props, createdAt, now);
    }

    public boolean visibleTo(String projectId, boolean admin) {
        return admin || owner.equals(projectId) || "public".equals(visibility) || "community".equals(visibility);
    }
}
