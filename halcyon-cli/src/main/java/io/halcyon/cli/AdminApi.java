package io.halcyon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The CLI's client of Halcyon's own admin API: the controller from {@code --controller} or
 * {@code OS_AUTH_URL}, a token from the usual OS_* variables (admin-openrc.sh). Errors come back as
 * one line with the API's own message.
 */
final class AdminApi {
    static final ObjectMapper JSON = new ObjectMapper();

    /** What the command prints on stderr before exiting non-zero. */
    static final class Failure extends RuntimeException {
        Failure(String message) {
            super(message);
        }
    }

    private final HttpClient http = client(Duration.ofSeconds(3));
    private final String base;
    private final String token;

    /** An HTTP client that trusts the CA in OS_CACERT, as the openstack CLI does, besides the system's. */
    static HttpClient client(Duration connectTimeout) {
        var b = HttpClient.newBuilder().connectTimeout(connectTimeout);
        String ca = System.getenv("OS_CACERT");
        if (ca != null && !ca.isBlank()) {
            try {
                b.sslContext(io.halcyon.http.Tls.client(java.nio.file.Path.of(ca)));
            } catch (IOException e) {
                throw new Failure("OS_CACERT " + ca + ": " + e.getMessage());
            }
        }
        return b.build();
    }

    AdminApi(String controller) throws IOException, InterruptedException {
        String c = controller;
        if (c == null) {
            String auth = System.getenv("OS_AUTH_URL");
            if (auth == null) {
                throw new Failure("no controller: pass --controller or source admin-openrc.sh (OS_AUTH_URL)");
            }
            c = auth.replaceAll("/identity/v3/?$", "");
        }
        this.base = c.replaceAll("/+$", "");
        this.token = token();
    }

    private String token() throws IOException, InterruptedException {
        String user = System.getenv("OS_USERNAME");
        String password = System.getenv("OS_PASSWORD");
        String project = System.getenv("OS_PROJECT_NAME");
        if (user == null || password == null || project == null) {
            throw new Failure("no credentials: source admin-openrc.sh (OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME)");
        }
        var body = Map.of("auth", Map.of("identity", Map.of("methods", List.of("password"), "password", Map.of("user", Map.of("name", user,
                "domain", Map.of("id", "default"), "password", password))), "scope", Map.of("project", Map.of("name", project, "domain",
                Map.of("id", "default")))));
        var r = send(HttpRequest.newBuilder(URI.create(base + "/identity/v3/auth/tokens")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))));
        if (r.statusCode() != 201) {
            throw new Failure("login failed (" + r.statusCode() + "): " + message(r.body()));
        }
        return r.headers().firstValue("X-Subject-Token").orElseThrow(() -> new Failure("login answered without a token"));
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws IOException, InterruptedException {
        try {
            return http.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.net.ConnectException e) {
            throw new Failure("cannot reach the controller at " + base);
        }
    }

    JsonNode call(String method, String path, Object body) throws IOException, InterruptedException {
        var b = HttpRequest.newBuilder(URI.create(base + path)).header("X-Auth-Token", token);
        if (body == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        }
        var r = send(b);
        if (r.statusCode() >= 300) {
            throw new Failure(message(r.body()) + " (HTTP " + r.statusCode() + ")");
        }
        return r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
    }

    /** The message of an OpenStack error body, or the body itself. */
    static String message(String body) {
        try {
            JsonNode n = JSON.readTree(body);
            for (JsonNode v : n) {
                if (v.has("message")) {
                    return v.path("message").asText();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not JSON
        }
        return body;
    }
}
