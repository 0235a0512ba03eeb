package io.halcyon.agent;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.halcyon.model.agent.Assignments;
import io.halcyon.model.agent.GuestReport;
import io.halcyon.model.agent.HostRegistration;
import io.halcyon.model.agent.Registration;
import io.halcyon.model.agent.ReportAnswer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static java.util.Objects.requireNonNull;

/**
 * The agent's client of the agent API. It holds a list of controller endpoints and moves to the
 * next one when the current one cannot be reached or answers 5xx, so an agent follows the control
 * plane through a controller failure.
 */
public final class ControllerClient {
    private static final Logger log = LoggerFactory.getLogger(ControllerClient.class);
    static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    public static final String TOKEN_HEADER = "X-Halcyon-Agent-Token";

    /** The controller answered with a client error: retrying elsewhere will not help. */
    public static final class ApiError extends IOException {
        private final int status;

        ApiError(int status, String message) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    private final List<String> endpoints;
    private final String token;
    private final HttpClient http;
    private final AtomicInteger current = new AtomicInteger();

    public ControllerClient(List<String> endpoints, String token, HttpClient http) {
        this.endpoints = List.copyOf(endpoints);
        this.token = requireNonNull(token, "token is null");
        this.http = requireNonNull(http, "http is null");
        if (this.endpoints.isEmpty()) {
            throw new IllegalArgumentException("at least one controller endpoint is required");
        }
    }

    public static HttpClient defaultHttp() {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).version(HttpClient.Version.HTTP_1_1).build();
    }

    /** A client for the agent API that trusts the CA in {@code caFile} (null: the system's CAs). */
    public static HttpClient http(java.nio.file.Path caFile) throws IOException {
        var b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).version(HttpClient.Version.HTTP_1_1);
        if (caFile != null) {
            b.sslContext(io.halcyon.http.Tls.client(caFile));
        }
        return b.build();
    }

    private interface Call<T> {
        T send(String base) throws IOException, InterruptedException;
    }

    private <T> T withFailover(Call<T> call) throws IOException, InterruptedException {
        IOException last = null;
        for (int i = 0; i < endpoints.size(); i++) {
            int idx = Math.floorMod(current.get() + i, endpoints.size());
            String base = endpoints.get(idx).replaceAll("/+$", "");
            try {
                T r = call.send(base);
                if (idx != current.get()) {
                    current.set(idx);
                    log.info("event=controller_failover endpoint={}", base);
                }
                return r;
            } catch (ApiError e) {
                if (e.status() < 500) {
                    throw e;
                }
                last = e;
            } catch (IOException e) {
                last = e;
            }
        }
        throw last;
    }

    private HttpRequest.Builder request(String url, Duration timeout) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(timeout).header(TOKEN_HEADER, token).header("Accept", "application/json");
    }

    private static String check(HttpResponse<String> r) throws ApiError {
        if (r.statusCode() >= 400) {
            throw new ApiError(r.statusCode(), "controller answered " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    private String post(String path, Object body, Duration timeout) throws IOException, InterruptedException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        return withFailover(base -> check(http.send(request(base + path, timeout).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8))));
    }

    public Registration register(HostRegistration reg) throws IOException, InterruptedException {
        return JSON.readValue(post("/agent/v1/hosts/" + reg.name() + "/register", reg, Duration.ofSeconds(30)), Registration.class);
    }

    /** The controller's answer to a renewal: whether to enforce the self-fence, and the revision the renewal was written at. */
    public record Beat(boolean armed, long revision) {
    }

    /**
     * Renews the host lease; {@code timeout} bounds each controller tried, so a cut network fails
     * fast. {@code afterFence}: the first renewal since this agent self-fenced; {@code seen}: the
     * newest revision it had in an answer.
     */
    public Beat heartbeat(String host, long leaseId, long seq, boolean armed, boolean afterFence, boolean witness, long seen,
                          Duration timeout) throws IOException, InterruptedException {
        return JSON.readValue(post("/agent/v1/hosts/" + host + "/heartbeat", Map.of("leaseId", leaseId, "seq", seq, "armed", armed,
                "afterFence", afterFence, "witness", witness, "seen", seen), timeout), Beat.class);
    }

    public Assignments assignments(String host, long after, Duration wait) throws IOException, InterruptedException {
        String path = "/agent/v1/hosts/" + host + "/assignments?after=" + after + "&waitMillis=" + wait.toMillis();
        String body = withFailover(base -> check(http.send(request(base + path, wait.plusSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8))));
        return JSON.readValue(body, Assignments.class);
    }

    /** Tells the leader how a backup it gave this host ended. */
    public void backupOutcome(String host, String backupId, boolean ok, String error) throws IOException, InterruptedException {
        var body = new java.util.LinkedHashMap<String, Object>();
        body.put("ok", ok);
        body.put("error", error);
        post("/agent/v1/hosts/" + host + "/backups/" + backupId, body, Duration.ofSeconds(30));
    }

    public List<ReportAnswer> report(String host, List<GuestReport> reports) throws IOException, InterruptedException {
        return JSON.readValue(post("/agent/v1/hosts/" + host + "/reports", reports, Duration.ofSeconds(30)),
                new TypeReference<List<ReportAnswer>>() { });
    }

    /** Streams an image's data to {@code sink}; returns the SHA-512 the controller has for it. */
    public String downloadImage(String imageId, IOConsumer<InputStream> sink) throws IOException, InterruptedException {
        return withFailover(base -> {
            HttpResponse<InputStream> r = http.send(request(base + "/agent/v1/images/" + imageId, Duration.ofHours(2)).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                if (r.statusCode() != 200) {
                    throw new ApiError(r.statusCode(), "image " + imageId + " download answered " + r.statusCode() + ": "
                            + new String(in.readNBytes(500), StandardCharsets.UTF_8));
                }
                sink.accept(in);
            }
            return r.headers().firstValue("X-Image-Sha512").orElse("");
        });
    }

    @FunctionalInterface
    public interface IOConsumer<T> {
        void accept(T t) throws IOException;
    }
}
