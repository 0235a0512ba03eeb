package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/** A minimal OpenStack API client for tests: password auth, then JSON calls with the token. */
final class ApiClient {
    static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private String token;
    private String projectId;

    record Response(int status, JsonNode body, String raw, HttpResponse<String> http) {
    }

    ApiClient(String base) {
        this.base = base;
    }

    String base() {
        return base;
    }

    String token() {
        return token;
    }

    String projectId() {
        return projectId;
    }

    /** The block storage API's root for the project the token is scoped to. */
    String volumes() {
        return "/volume/v3/" + projectId;
    }

    ApiClient login(String user, String password, String project) throws IOException, InterruptedException {
        var body = Map.of("auth", Map.of(
                "identity", Map.of("methods", java.util.List.of("password"),
                        "password", Map.of("user", Map.of("name", user, "domain", Map.of("name", "Default"), "password", password))),
                "scope", Map.of("project", Map.of("name", project, "domain", Map.of("name", "Default")))));
        var r = send("POST", "/identity/v3/auth/tokens", JSON.writeValueAsString(body), Map.of());
        if (r.status() != 201) {
            throw new AssertionError("login failed: " + r.status() + " " + r.raw());
        }
        token = r.http().headers().firstValue("X-Subject-Token").orElseThrow();
        projectId = r.body().path("token").path("project").path("id").asText();
        return this;
    }

    Response get(String path) throws IOException, InterruptedException {
        return send("GET", path, null, Map.of());
    }

    Response post(String path, Object body) throws IOException, InterruptedException {
        return send("POST", path, body instanceof String s ? s : JSON.writeValueAsString(body), Map.of());
    }

    Response put(String path, Object body) throws IOException, InterruptedException {
        return send("PUT", path, body instanceof String s ? s : JSON.writeValueAsString(body), Map.of());
    }

    Response delete(String path) throws IOException, InterruptedException {
        return send("DELETE", path, null, Map.of());
    }

    Response send(String method, String path, String body, Map<String, String> headers) throws IOException, InterruptedException {
        var b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (token != null && !headers.containsKey("X-Auth-Token")) {
            b.header("X-Auth-Token", token);
        }
        headers.forEach((k, v) -> {
            if (v != null) {
                b.header(k, v);
            }
        });
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        JsonNode node = null;
        if (!r.body().isEmpty()) {
            try {
                node = JSON.readTree(r.body());
            } catch (IOException e) {
                node = null;
            }
        }
        return new Response(r.statusCode(), node, r.body(), r);
    }

    /** Creates a server and returns its id. */
    String createServer(String name, String flavor, String image) throws IOException, InterruptedException {
        var r = post("/compute/v2.1/servers", Map.of("server", Map.of("name", name, "flavorRef", flavor, "imageRef", image)));
        if (r.status() != 202) {
            throw new AssertionError("create failed: " + r.status() + " " + r.raw());
        }
        return r.body().path("server").path("id").asText();
    }

    JsonNode server(String id) throws IOException, InterruptedException {
        var r = get("/compute/v2.1/servers/" + id);
        return r.status() == 200 ? r.body().path("server") : null;
    }

    String imageId(String name) throws IOException, InterruptedException {
        for (JsonNode i : get("/image/v2/images?name=" + name).body().path("images")) {
            return i.path("id").asText();
        }
        throw new AssertionError("no image " + name);
    }
}
