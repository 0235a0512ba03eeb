package io.halcyon.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The OpenStack API as a client sees it, for benchmarks. */
final class BenchApi {
    static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http;
    private final String base;
    private String token;
    private String projectId;

    BenchApi(HttpClient http, String base) {
        this.http = http;
        this.base = base;
    }

    BenchApi login(String user, String password, String project) throws IOException, InterruptedException {
        var body = Map.of("auth", Map.of("identity", Map.of("methods", List.of("password"), "password",
                        Map.of("user", Map.of("name", user, "domain", Map.of("id", "default"), "password", password))),
                "scope", Map.of("project", Map.of("name", project, "domain", Map.of("id", "default")))));
        var r = send("POST", "/identity/v3/auth/tokens", body);
        token = r.headers().firstValue("X-Subject-Token").orElseThrow(() -> new IOException("login failed: " + r.body()));
        projectId = JSON.readTree(r.body()).path("token").path("project").path("id").asText();
        return this;
    }

    String projectId() {
        return projectId;
    }

    HttpResponse<String> send(String method, String path, Object body) throws IOException, InterruptedException {
        var b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120));
        if (token != null) {
            b.header("X-Auth-Token", token);
        }
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body), StandardCharsets.UTF_8));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode json(String method, String path, Object body, int expect) throws IOException, InterruptedException {
        var r = send(method, path, body);
        if (r.statusCode() != expect) {
            throw new IOException(method + " " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        return r.body().isEmpty() ? null : JSON.readTree(r.body());
    }

    void upload(String path, byte[] data) throws IOException, InterruptedException {
        var r = http.send(HttpRequest.newBuilder(URI.create(base + path)).header("X-Auth-Token", token)
                .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofByteArray(data)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 204) {
            throw new IOException("upload answered " + r.statusCode() + ": " + r.body());
        }
    }

    String createServer(String name, String flavor, String image) throws IOException, InterruptedException {
        return json("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", name, "flavorRef", flavor, "imageRef", image)), 202)
                .path("server").path("id").asText();
    }

    String imageId(String name) throws IOException, InterruptedException {
        return json("GET", "/image/v2/images?name=" + name, null, 200).path("images").get(0).path("id").asText();
    }
}
