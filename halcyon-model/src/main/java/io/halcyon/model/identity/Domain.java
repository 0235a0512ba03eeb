package io.halcyon.model.identity;

/** Halcyon has one identity domain, Keystone's {@code default}; every project and user lives in it. */
public final class Domain {
    public static final String DEFAULT_ID = "default";
    public static final String DEFAULT_NAME = "Default";

    private Domain() {
    }

    public static boolean matches(String idOrName) {
        return DEFAULT_ID.equals(idOrName) || DEFAULT_NAME.equalsIgnoreCase(idOrName);
    }
}
