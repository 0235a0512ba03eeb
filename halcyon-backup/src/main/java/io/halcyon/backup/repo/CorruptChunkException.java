package io.halcyon.backup.repo;

/** A stored chunk that is missing, unreadable, or whose content no longer hashes to its id. */
public final class CorruptChunkException extends RepositoryException {
    private final String chunkId;

    public CorruptChunkException(String chunkId, String message) {
        super("chunk " + chunkId + ": " + message);
        this.chunkId = chunkId;
    }

    public String chunkId() {
        return chunkId;
    }
}
