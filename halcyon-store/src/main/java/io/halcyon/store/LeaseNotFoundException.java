package io.halcyon.store;

/** The lease has expired or was revoked. */
public class LeaseNotFoundException extends StoreException {
    public LeaseNotFoundException(long leaseId) {
        super("lease " + Long.toHexString(leaseId) + " not found (expired or revoked)");
    }
}
