package io.halcyon.backup.repo;

import java.time.Instant;

/**
 * The repository's fixed settings, written once at init.
 *
 * @param keyCheck null for a plain repository; else the check value of the key that encrypts it
 * @param zstdLevel the compression level of new chunks, or null for none
 */
public record RepositoryConfig(int format, String id, Instant createdAt, int chunkSize, Integer zstdLevel, String keyCheck) {
    public static final int FORMAT = 1;
    public static final int MIN_CHUNK = 64 * 1024;
    public static final int MAX_CHUNK = 64 * 1024 * 1024;

    public static void checkChunkSize(long size) {
        if (size < MIN_CHUNK || size > MAX_CHUNK || Long.bitCount(size) != 1) {
            throw new RepositoryException("the chunk size must be a power of two from 64 KiB to 64 MiB, not " + size);
        }
    }

    public boolean encrypted() {
        return keyCheck != null;
    }
}
