package io.halcyon.api.compute;

import io.halcyon.model.host.Host;

/** Reads a guest's serial console log from the agent of its host. */
public interface ConsoleFetcher {
    /** The last {@code lines} lines (all when null or negative); throws when the agent cannot answer. */
    String fetch(Host host, String serverId, Integer lines) throws Exception;
}
