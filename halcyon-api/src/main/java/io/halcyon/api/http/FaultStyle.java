package io.halcyon.api.http;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The error body each OpenStack service uses, so clients print the message they expect. */
public enum FaultStyle {
    /** Nova and Cinder: {"itemNotFound": {"code": 404, "message": "..."}}. */
    NOVA,
    /** Keystone, Glance and Halcyon's own: {"error": {"code": 404, "title": "Not Found", "message": "..."}}. */
    KEYSTONE,
    /** Neutron: {"NeutronError": {"type": "...", "message": "...", "detail": ""}}. */
    NEUTRON;

    public ObjectNode body(int status, String message) {
        return body(status, message, null);
    }

    public ObjectNode body(int status, String message, String type) {
        var f = JsonNodeFactory.instance;
        var root = f.objectNode();
        switch (this) {
            case NOVA -> {
                var inner = root.putObject(novaName(status));
                inner.put("code", status);
                inner.put("message", message);
            }
            case KEYSTONE -> {
                var inner = root.putObject("error");
                inner.put("code", status);
                inner.put("title", title(status));
                inner.put("message", message);
            }
            case NEUTRON -> {
                var inner = root.putObject("NeutronError");
                inner.put("type", type != null ? type : neutronType(status));
                inner.put("message", message);
                inner.put("detail", "");
            }
        }
        return root;
    }

    static String novaName(int status) {
        return switch (status) {
            case 400 -> "badRequest";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "itemNotFound";
            case 405 -> "badMethod";
            case 406 -> "notAcceptable";
            case 408 -> "requestTimeout";
            case 409 -> "conflictingRequest";
            case 413, 429 -> "overLimit";
            case 415 -> "badMediaType";
            case 501 -> "notImplemented";
            case 503 -> "serviceUnavailable";
            default -> "computeFault";
        };
    }

    static String neutronType(int status) {
        return switch (status) {
            case 400 -> "BadRequest";
            case 401 -> "NotAuthorized";
            case 403 -> "Forbidden";
            case 404 -> "NotFound";
            case 408 -> "RequestTimeout";
            case 409 -> "Conflict";
            case 413 -> "RequestEntityTooLarge";
            case 503 -> "ServiceUnavailable";
            default -> "HTTPError";
        };
    }

    public static String title(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 401 -> "Unauthorized";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 406 -> "Not Acceptable";
            case 408 -> "Request Timeout";
            case 409 -> "Conflict";
            case 413 -> "Request Entity Too Large";
            case 415 -> "Unsupported Media Type";
            case 501 -> "Not Implemented";
            case 503 -> "Service Unavailable";
            default -> "Internal Server Error";
        };
    }
}
