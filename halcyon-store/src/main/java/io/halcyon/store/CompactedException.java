package io.halcyon.store;

/** A read or watch asked for history the store no longer keeps; callers relist. */
public class CompactedException extends StoreException {
    private final long compactRevision;

    public CompactedException(long requested, long compactRevision) {
        super("revision " + requested + " has been compacted; oldest available is " + compactRevision);
        this.compactRevision = compactRevision;
    }

    public long compactRevision() {
        return compactRevision;
    }
}
