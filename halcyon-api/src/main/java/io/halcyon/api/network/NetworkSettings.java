package io.halcyon.api.network;

import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * What the cloud's operator decided about networking: the physical networks provider networks
 * may use (each host maps them to a bridge), the Geneve VNI range, and the MTUs networks get
 * (an overlay loses 58 bytes to Geneve on a 1500-byte underlay).
 */
public record NetworkSettings(List<String> physicalNetworks, int vniMin, int vniMax, int overlayMtu, int providerMtu) {
    public NetworkSettings {
        physicalNetworks = List.copyOf(requireNonNull(physicalNetworks, "physicalNetworks is null"));
        if (vniMin < 1 || vniMax > 16_777_215 || vniMin > vniMax) {
            throw new IllegalArgumentException("the VNI range " + vniMin + "-" + vniMax + " is not within 1-16777215");
        }
    }

    public static NetworkSettings defaults() {
        return new NetworkSettings(List.of("provider"), 1, 65_535, 1442, 1500);
    }
}
