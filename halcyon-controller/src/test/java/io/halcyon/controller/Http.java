package io.halcyon.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small HTTP helper for controller component tests. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient client = HttpClient.newHttpClient();
    private final String base;

    record Res(int status, String body, JsonNode json, HttpResponse<String> raw) {
    }

    Http(String base) {
        this.base = base;
    }

    Res call(String method, String path, Object body, Map<String, String> headers) {
        try {
            var b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
            headers.forEach(b::header);
            HttpRequest.BodyPublisher pub;
            if (body == null) {
                pub = HttpRequest.BodyPublishers.noBody();
            } else if (body instanceof byte[] bytes) {
                pub = HttpRequest.BodyPublishers.ofByteArray(bytes);
            } else {
                pub = HttpRequest.BodyPublishers.ofString(body instanceof String s ? s : JSON.writeValueAsString(body));
                if (!headers.containsKey("Content-Type")) {
                    b.header("Content-Type", "application/json");
                }
            }
            HttpResponse<String> r = client.send(b.method(method, pub).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = null;
            try {
                json = r.body().isEmpty() ? null : JSON.readTree(r.body());
            } catch (IOException ignored) {
                // not JSON
            }
            return new Res(r.statusCode(), r.body(), json, r);
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    String login(String user, String password, String project) {
        var auth = Map.of("auth", Map.of("identity", Map.of("methods", List.of("password"),
                        "password", Map.of("user", Map.of("name", user, "domain", Map.of("id", "default"), "password", password))),
                "scope", Map.of("project", Map.of("name", project, "domain", Map.of("id", "default")))));
        Res r = call("POST", "/identity/v3/auth/tokens", auth, Map.of());
        if (r.status() != 201) {
            throw new AssertionError("login " + user + " failed: " + r.status() + " " + r.body());
        }
        return r.raw().headers().firstValue("X-Subject-Token").orElseThrow();
    }

    static Map<String, String> token(String t) {
        var m = new LinkedHashMap<String, String>();
        m.put("X-Auth-Token", t);
        return m;
    }
}
