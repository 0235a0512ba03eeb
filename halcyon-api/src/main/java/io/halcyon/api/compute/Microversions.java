package io.halcyon.api.compute;

import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;

import java.util.Map;

/**
 * Microversion negotiation. Halcyon advertises compute 2.1 (and volume 3.0) and raises a maximum
 * only together with the full semantics of every version up to it; asking for more answers 406.
 */
public final class Microversions {
    private final String service;
    private final String legacyHeader;
    private final int major;
    private final int minMinor;
    private final int maxMinor;

    public Microversions(String service, String legacyHeader, int major, int minMinor, int maxMinor) {
        this.service = service;
        this.legacyHeader = legacyHeader;
        this.major = major;
        this.minMinor = minMinor;
        this.maxMinor = maxMinor;
    }

    public static Microversions compute() {
        return new Microversions("compute", "X-OpenStack-Nova-API-Version", 2, 1, 1);
    }

    public String max() {
        return major + "." + maxMinor;
    }

    public String min() {
        return major + "." + minMinor;
    }

    public void check(ApiRequest r, Map<String, String> responseHeaders) {
        String requested = null;
        String modern = r.header("OpenStack-API-Version");
        if (modern != null) {
            for (String part : modern.split(",")) {
                String[] kv = part.trim().split("\\s+", 2);
                if (kv.length == 2 && kv[0].equalsIgnoreCase(service)) {
                    requested = kv[1].trim();
                }
            }
        }
        if (requested == null && legacyHeader != null) {
            requested = r.header(legacyHeader);
        }
        responseHeaders.put("OpenStack-API-Version", service + " " + max());
        if (legacyHeader != null) {
            responseHeaders.put(legacyHeader, max());
        }
        responseHeaders.put("Vary", "OpenStack-API-Version" + (legacyHeader == null ? "" : ", " + legacyHeader));
        if (requested == null || requested.equalsIgnoreCase("latest")) {
            return;
        }
        String[] p = requested.trim().split("\\.");
        int reqMajor;
        int reqMinor;
        try {
            if (p.length != 2) {
                throw new NumberFormatException();
            }
            reqMajor = Integer.parseInt(p[0]);
            reqMinor = Integer.parseInt(p[1]);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("API Version String " + requested + " is of invalid format. Must be of format MajorNum.MinorNum.");
        }
        if (reqMajor != major || reqMinor < minMinor || reqMinor > maxMinor) {
            throw ApiException.notAcceptable("Version " + requested + " is not supported by the API. Minimum is " + min()
                    + " and maximum is " + max() + ".");
        }
    }
}
