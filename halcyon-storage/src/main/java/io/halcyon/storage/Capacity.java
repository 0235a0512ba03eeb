package io.halcyon.storage;

/**
 * A backend's space. Volumes are thin, so admission uses provisioned space against total space
 * times the over-subscription ratio, as Cinder's capacity filter does, and real free space against
 * a reserve.
 */
public record Capacity(long totalBytes, long freeBytes, double overSubscriptionRatio, double reservedFraction) {
    public boolean admits(long provisionedBytes, long requestedBytes) {
        double virtualCapacity = totalBytes * overSubscriptionRatio;
        return provisionedBytes + requestedBytes <= virtualCapacity && freeBytes > totalBytes * reservedFraction;
    }
}
