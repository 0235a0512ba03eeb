package io.halcyon.model.compute;

import static java.util.Objects.requireNonNull;

/**
 * A guest NIC: the Neutron port it is plugged into. {@code preserveOnDelete} marks a port the user
 * created and passed in, which outlives the server (it is only unbound); ports the server created
 * for itself are deleted with it, as Nova does.
 */
public record Nic(String portId, boolean preserveOnDelete) {
    public Nic {
        requireNonNull(portId, "portId is null");
    }
}
