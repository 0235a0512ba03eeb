package io.halcyon.api.agent;

import io.halcyon.api.ApiAuthenticator;
import io.halcyon.api.compute.ConsoleFetcher;
import io.halcyon.model.InvalidStateException;
import io.halcyon.model.host.Host;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static java.util.Objects.requireNonNull;

/** Fetches console logs from agents over their HTTP(S) endpoint, authenticated with the agent token. */
public final class AgentConsoleClient implements ConsoleFetcher {
    private final HttpClient http;
    private final String agentToken;

    /** @param ssl how to verify agents that serve HTTPS (null: the system's CAs) */
    public AgentConsoleClient(String agentToken, javax.net.ssl.SSLContext ssl) {
        this.agentToken = requireNonNull(agentToken, "agentToken is null");
        var b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3));
        if (ssl != null) {
            b.sslContext(ssl);
        }
        this.http = b.build();
    }

    @Override
    public String fetch(Host host, String serverId, Integer lines) throws IOException, InterruptedException {
        if (host.endpoint() == null || host.endpoint().isBlank()) {
            throw new InvalidStateException("Guest does not have a console available: host " + host.name() + " has no agent endpoint.");
        }
        String url = host.endpoint().replaceAll("/+$", "") + "/v1/guests/" + URLEncoder.encode(serverId, StandardCharsets.UTF_8)
                + "/console" + (lines == null || lines < 0 ? "" : "?lines=" + lines);
        var req = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5))
                .header(ApiAuthenticator.AGENT_HEADER, agentToken).GET().build();
        var resp = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (resp.statusCode() == 404) {
            throw new InvalidStateException("Guest does not have a console available.");
        }
        if (resp.statusCode() != 200) {
            throw new IOException("agent answered " + resp.statusCode());
        }
        return resp.body();
    }
}
