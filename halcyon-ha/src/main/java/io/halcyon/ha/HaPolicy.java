package io.halcyon.ha;

import java.util.Locale;
import java.util.Map;

/**
 * Whether a server is restarted elsewhere when its host fails, and in which order. Server
 * metadata {@code HA_Enabled} (Masakari's key, so its tooling works) wins over the flavor's
 * {@code ha:enabled}; {@code ha:priority} comes from metadata, then the flavor; anything unset
 * takes the cluster's default. Higher priorities are restarted first.
 */
public record HaPolicy(boolean enabled, int priority) {
    public static final String METADATA_ENABLED = "HA_Enabled";
    public static final String SPEC_ENABLED = "ha:enabled";
    public static final String SPEC_PRIORITY = "ha:priority";
    public static final int MIN_PRIORITY = -1000;
    public static final int MAX_PRIORITY = 1000;

    public static HaPolicy of(Map<String, String> metadata, Map<String, String> extraSpecs, HaPolicy dflt) {
        Boolean enabled = bool(metadata.get(METADATA_ENABLED));
        if (enabled == null) {
            enabled = bool(extraSpecs.get(SPEC_ENABLED));
        }
        Integer priority = integer(metadata.get(SPEC_PRIORITY));
        if (priority == null) {
            priority = integer(extraSpecs.get(SPEC_PRIORITY));
        }
        return new HaPolicy(enabled == null ? dflt.enabled() : enabled, priority == null ? dflt.priority() : priority);
    }

    /** A message naming the bad key and value, or null when the HA keys in {@code values} are valid. */
    public static String problem(Map<String, String> values) {
        for (String key : new String[] {METADATA_ENABLED, SPEC_ENABLED}) {
            String v = values.get(key);
            if (v != null && bool(v) == null) {
                return "Invalid value '" + v + "' for " + key + ": use True or False.";
            }
        }
        String p = values.get(SPEC_PRIORITY);
        if (p != null && integer(p) == null) {
            return "Invalid value '" + p + "' for " + SPEC_PRIORITY + ": an integer from " + MIN_PRIORITY + " to " + MAX_PRIORITY + ".";
        }
        return null;
    }

    private static Boolean bool(String v) {
        if (v == null) {
            return null;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1", "on" -> Boolean.TRUE;
            case "false", "no", "0", "off" -> Boolean.FALSE;
            default -> null;
        };
    }

    private static Integer integer(String v) {
        if (v == null) {
            return null;
        }
        try {
            int i = Integer.parseInt(v.trim());
            return i < MIN_PRIORITY || i > MAX_PRIORITY ? null : i;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
