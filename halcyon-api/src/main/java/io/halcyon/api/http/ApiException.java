package io.halcyon.api.http;

import java.util.Map;

/**
 * A failure to report to the client with an HTTP status and a message. The route's
 * {@link FaultStyle} decides the body's shape, so each service answers like its OpenStack original.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final Map<String, String> headers;
    private String type;

    public ApiException(int status, String message) {
        this(status, message, Map.of());
    }

    public ApiException(int status, String message, Map<String, String> headers) {
        super(message);
        this.status = status;
        this.headers = Map.copyOf(headers);
    }

    public int status() {
        return status;
    }

    public Map<String, String> headers() {
        return headers;
    }

    /** The error's name where the service reports one (Neutron's "type", e.g. IpAddressGenerationFailure); null for the default. */
    public String type() {
        return type;
    }

    public ApiException withType(String t) {
        this.type = t;
        return this;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, message);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, message);
    }

    public static ApiException forbidden(String message) {
        return new ApiException(403, message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, message);
    }

    public static ApiException conflict(String message) {
        return new ApiException(409, message);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(413, message);
    }

    public static ApiException unsupportedMediaType(String message) {
        return new ApiException(415, message);
    }

    public static ApiException notAcceptable(String message) {
        return new ApiException(406, message);
    }

    public static ApiException notImplemented(String message) {
        return new ApiException(501, message);
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, message);
    }
}
