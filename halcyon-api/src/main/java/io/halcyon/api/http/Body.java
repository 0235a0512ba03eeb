package io.halcyon.api.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Typed reads of request JSON that fail with 400 and a message naming the field, in the words
 * of Nova's schema validation ("Invalid input for field/attribute ram. Value: x. 'x' is not of
 * type 'integer'").
 */
public final class Body {
    private Body() {
    }

    private static ApiException invalid(String field, JsonNode value, String why) {
        return ApiException.badRequest("Invalid input for field/attribute " + field + ". Value: " + render(value) + ". " + why);
    }

    private static String render(JsonNode v) {
        return v == null ? "None" : v.isTextual() ? v.asText() : v.toString();
    }

    public static ObjectNode object(JsonNode parent, String field) {
        JsonNode v = parent.get(field);
        if (v == null || v.isNull()) {
            throw ApiException.badRequest("'" + field + "' is a required property");
        }
        if (!v.isObject()) {
            throw invalid(field, v, render(v) + " is not of type 'object'");
        }
        return (ObjectNode) v;
    }

    public static ObjectNode optionalObject(JsonNode parent, String field) {
        JsonNode v = parent.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw invalid(field, v, render(v) + " is not of type 'object'");
        }
        return (ObjectNode) v;
    }

    public static boolean has(JsonNode parent, String field) {
        JsonNode v = parent.get(field);
        return v != null && !v.isNull();
    }

    public static String string(JsonNode parent, String field, int minLen, int maxLen) {
        String s = optionalString(parent, field, minLen, maxLen);
        if (s == null) {
            throw ApiException.badRequest("'" + field + "' is a required property");
        }
        return s;
    }

    public static String optionalString(JsonNode parent, String field, int minLen, int maxLen) {
        JsonNode v = parent.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw invalid(field, v, render(v) + " is not of type 'string'");
        }
        String s = v.asText();
        int len = s.codePointCount(0, s.length());
        if (len < minLen) {
            throw invalid(field, v, "'" + s + "' is too short");
        }
        if (len > maxLen) {
            throw invalid(field, v, "'" + s + "' is too long");
        }
        return s;
    }

    /**
     * A name as Nova's schema takes it (format "name"): 1 to {@code maxLen} printable characters,
     * so no control, format, unassigned or line and paragraph separator characters; null when absent.
     */
    public static String optionalName(JsonNode parent, String field, int maxLen) {
        String s = optionalString(parent, field, 1, maxLen);
        if (s != null && !printable(s)) {
            throw invalid(field, parent.get(field), "An invalid 'name' value was provided. The name must be: printable characters.");
        }
        return s;
    }

    public static String name(JsonNode parent, String field, int maxLen) {
        String s = optionalName(parent, field, maxLen);
        if (s == null) {
            throw ApiException.badRequest("'" + field + "' is a required property");
        }
        return s;
    }

    /** Nova's printable: no category C (control, format, surrogate, private use, unassigned) and of Z only spaces. */
    static boolean printable(String s) {
        return s.codePoints().allMatch(c -> switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                    Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> false;
            default -> true;
        });
    }

    /** Integers, also given as digit strings as Nova's schema allows for flavor sizes. */
    public static Integer optionalInt(JsonNode parent, String field, long min, long max, boolean allowString) {
        JsonNode v = parent.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        long n;
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            n = v.asLong();
        } else if (allowString && v.isTextual() && v.asText().trim().matches("-?\\d{1,18}")) {
            n = Long.parseLong(v.asText().trim());
        } else {
            throw invalid(field, v, render(v) + " is not of type 'integer'");
        }
        if (n < min) {
            throw invalid(field, v, n + " is less than the minimum of " + min);
        }
        if (n > max) {
            throw invalid(field, v, n + " is greater than the maximum of " + max);
        }
        return (int) n;
    }

    public static int integer(JsonNode parent, String field, long min, long max, boolean allowString) {
        Integer n = optionalInt(parent, field, min, max, allowString);
        if (n == null) {
            throw ApiException.badRequest("'" + field + "' is a required property");
        }
        return n;
    }

    public static Double optionalNumber(JsonNode parent, String field, double min, double max) {
        JsonNode v = parent.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        double d;
        if (v.isNumber()) {
            d = v.asDouble();
        } else if (v.isTextual()) {
            try {
                d = Double.parseDouble(v.asText().trim());
            } catch (NumberFormatException e) {
                throw invalid(field, v, render(v) + " is not of type 'number'");
            }
        } else {
            throw invalid(field, v, render(v) + " is not of type 'number'");
        }
        if (!(d >= min && d <= max)) {
            throw invalid(field, v, d + " is not between " + min + " and " + max);
        }
        return d;
    }

    /** JSON booleans, and the strings Nova accepts for them ("true", "False", "1", "yes"...). */
    public static Boolean optionalBool(JsonNode parent, String field) {
        JsonNode v = parent.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        if (v.isTextual()) {
            switch (v.asText().trim().toLowerCase()) {
                case "true", "1", "yes", "on", "t", "y" -> {
                    return true;
                }
                case "false", "0", "no", "off", "f", "n" -> {
                    return false;
                }
                default -> { }
            }
        }
        throw invalid(field, v, render(v) + " is not of type 'boolean'");
    }

    /** A JSON object of string values (metadata, extra specs), with key and value length limits. */
    public static Map<String, String> stringMap(JsonNode parent, String field, int maxKey, int maxValue) {
        JsonNode v = parent.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw invalid(field, v, render(v) + " is not of type 'object'");
        }
        var out = new LinkedHashMap<String, String>();
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            var e = it.next();
            String k = e.getKey();
            if (k.isEmpty() || k.length() > maxKey) {
                throw invalid(field, v, "key '" + k + "' must be 1 to " + maxKey + " characters");
            }
            JsonNode val = e.getValue();
            if (!val.isTextual()) {
                throw invalid(field + "." + k, val, render(val) + " is not of type 'string'");
            }
            if (val.asText().length() > maxValue) {
                throw invalid(field + "." + k, val, "'" + val.asText() + "' is too long");
            }
            out.put(k, val.asText());
        }
        return out;
    }

    /** Rejects properties outside {@code allowed}, as Nova's schemas do. */
    public static void onlyKnown(JsonNode node, Set<String> allowed) {
        var unexpected = new java.util.ArrayList<String>();
        node.fieldNames().forEachRemaining(n -> {
            if (!allowed.contains(n)) {
                unexpected.add("'" + n + "'");
            }
        });
        if (!unexpected.isEmpty()) {
            throw ApiException.badRequest("Additional properties are not allowed (" + String.join(", ", unexpected)
                    + (unexpected.size() == 1 ? " was" : " were") + " unexpected)");
        }
    }
}
