package io.halcyon.api.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.http.Limits;
import io.halcyon.http.HttpListener;
import io.halcyon.http.MinRateInputStream;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

/**
 * One request as the endpoints see it: path parameters, query parameters, headers, the
 * authenticated caller, and the body read under a size limit.
 */
public final class ApiRequest {
    private static final ObjectMapper STRICT = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    private final Request request;
    private final String requestId;
    private final Map<String, String> pathParams;
    private final Map<String, List<String>> query;
    private final int maxBodyBytes;
    private final Limits limits;
    private final java.util.Set<String> trustedProxies;
    private final String baseUrl;
    private AuthContext auth;
    private byte[] body;

    public ApiRequest(Request request, String requestId, Map<String, String> pathParams, Map<String, List<String>> query,
                      int maxBodyBytes, Limits limits, java.util.Set<String> trustedProxies, String baseUrl) {
        this.request = request;
        this.requestId = requestId;
        this.pathParams = pathParams;
        this.query = query;
        this.maxBodyBytes = maxBodyBytes;
        this.limits = limits;
        this.trustedProxies = trustedProxies;
        this.baseUrl = baseUrl;
    }

    public String method() {
        return request.getMethod();
    }

    public String path() {
        return request.getHttpURI().getPath();
    }

    public String requestId() {
        return requestId;
    }

    /** scheme://host:port of this cloud as the client reached it (or as configured). */
    public String baseUrl() {
        return baseUrl;
    }

    public String param(String name) {
        String v = pathParams.get(name);
        if (v == null) {
            throw new IllegalStateException("route has no parameter " + name);
        }
        return v;
    }

    public String query(String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.get(v.size() - 1);
    }

    public List<String> queryAll(String name) {
        return query.getOrDefault(name, List.of());
    }

    public Map<String, List<String>> queryParams() {
        return query;
    }

    public String header(String name) {
        return request.getHeaders().get(name);
    }

    public AuthContext auth() {
        if (auth == null) {
            throw new IllegalStateException("request is not authenticated");
        }
        return auth;
    }

    public boolean authenticated() {
        return auth != null;
    }

    void setAuth(AuthContext auth) {
        this.auth = auth;
    }

    /** The raw body, at most the JSON size limit; 413 beyond it, 408 when it did not arrive in time. */
    public byte[] body() {
        if (body != null) {
            return body;
        }
        if (request.getAttribute(HttpListener.BODY) instanceof byte[] read) {
            if (read.length > maxBodyBytes) {
                throw ApiException.tooLarge("Request is too large; the limit is " + maxBodyBytes + " bytes.");
            }
            body = read;
            return read;
        }
        if (request.getAttribute(HttpListener.BODY_FAILURE) instanceof String failure) {
            if (HttpListener.TIMED_OUT.equals(failure)) {
                throw new ApiException(408, "The request body did not arrive in time (at least " + limits.minBodyRate()
                        + " bytes/s after " + limits.bodyTimeout().toSeconds() + " s); nothing was changed.");
            }
            throw ApiException.badRequest("Could not read the request body: " + failure);
        }
        long declared = request.getHeaders().getLongField("Content-Length");
        if (declared > maxBodyBytes) {
            throw ApiException.tooLarge("Request is too large: " + declared + " bytes; the limit is " + maxBodyBytes + " bytes.");
        }
        try (InputStream in = Request.asInputStream(request)) {
            byte[] b = in.readNBytes(maxBodyBytes + 1);
            if (b.length > maxBodyBytes) {
                throw ApiException.tooLarge("Request is too large; the limit is " + maxBodyBytes + " bytes.");
            }
            body = b;
            return b;
        } catch (IOException e) {
            throw ApiException.badRequest("Could not read the request body: " + e.getMessage());
        }
    }

    /** The body parsed as a JSON object; 400 when it is empty, malformed or not an object. */
    public JsonNode json() {
        JsonNode node = jsonValue();
        if (!node.isObject()) {
            throw ApiException.badRequest("Malformed request body: expected a JSON object.");
        }
        return node;
    }

    /** The body parsed as one JSON value of any kind (a JSON patch is a list); 400 when empty, malformed or followed by more. */
    public JsonNode jsonValue() {
        byte[] b = body();
        if (b.length == 0) {
            throw ApiException.badRequest("Malformed request body: the body is empty.");
        }
        JsonNode node;
        try {
            node = STRICT.readTree(b);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("Malformed request body: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest("Malformed request body.");
        }
        if (node == null || node.isMissingNode()) {
            throw ApiException.badRequest("Malformed request body: the body is empty.");
        }
        return node;
    }

    /** The body as a stream, for uploads that are not held in memory; it fails if it arrives below the minimum rate. */
    public InputStream bodyStream() {
        return new MinRateInputStream(Request.asInputStream(request), limits.minBodyRate(), limits.bodyTimeout());
    }

    public long contentLength() {
        return request.getHeaders().getLongField("Content-Length");
    }

    public String remoteAddress() {
        return Request.getRemoteAddr(request);
    }

    /**
     * The client's address: the peer's, or behind a proxy the cloud trusts (HAProxy in front of the
     * controllers) the last address that proxy put in X-Forwarded-For. A client cannot claim an
     * address by sending the header itself.
     */
    public String clientAddress() {
        String peer = remoteAddress();
        String forwarded = request.getHeaders().get("X-Forwarded-For");
        if (forwarded == null || !trustedProxies.contains(peer)) {
            return peer;
        }
        String[] hops = forwarded.split(",");
        String last = hops[hops.length - 1].strip();
        return last.isEmpty() ? peer : last;
    }
}
