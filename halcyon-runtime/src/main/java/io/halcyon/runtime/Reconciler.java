package io.halcyon.runtime;

/**
 * Converges one resource, named by its key, from the current desired and observed state. It must
 * be idempotent: it may run any number of times for the same state, on any controller, after a
 * crash at any point. An exception means "try again later" (with backoff).
 */
public interface Reconciler {
    Result reconcile(String key) throws Exception;
}
