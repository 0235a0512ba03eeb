package io.halcyon.store;

import java.util.List;

/**
 * Receives watch events on one thread at a time, in revision order; a batch never splits a
 * revision. After {@link #onError} no more calls are made for that watch.
 */
public interface WatchListener {
    void onEvents(List<WatchEvent> events);

    void onError(StoreException error);
}
