package io.halcyon.runtime;

import io.halcyon.store.Compare;

/**
 * Whether this controller may run reconcilers now. {@link #fence()} is a compare that holds only
 * while this controller's term lasts: every reconciler write carries it, so a deposed leader's
 * late write fails instead of clobbering its successor's.
 */
public interface Leadership {
    boolean isLeader();

    /** The current term's fencing token (the leader key's revision), or 0 when not leader. */
    long epoch();

    Compare fence();

    void addListener(Listener listener);

    interface Listener {
        void elected(long epoch);

        void deposed();
    }
}
