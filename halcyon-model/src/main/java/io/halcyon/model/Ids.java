package io.halcyon.model;

import java.util.UUID;
import java.util.regex.Pattern;

/** Resource ids: random UUIDs in their canonical lower-case form, as OpenStack uses them. */
public final class Ids {
    private static final Pattern UUID_FORM = Pattern.compile("[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}");

    private Ids() {
    }

    public static String newId() {
        return UUID.randomUUID().toString();
    }

    /** A compact id without dashes, as Keystone shows for projects, users and roles. */
    public static String newHexId() {
        return UUID.randomUUID().toString().replace("-", "");
    }

    public static boolean isUuid(String s) {
        return s != null && UUID_FORM.matcher(s).matches();
    }

    /** Whether {@code s} may be an id in a key: no slash, not empty, printable, bounded. */
    public static boolean isSafeKeySegment(String s) {
        if (s == null || s.isEmpty() || s.length() > 255) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '/' || c < 0x20 || c == 0x7f) {
                return false;
            }
        }
        return true;
    }
}
