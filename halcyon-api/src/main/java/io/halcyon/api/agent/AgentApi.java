package io.halcyon.api.agent;

import com.fasterxml.jackson.core.type.TypeReference;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiJson;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.api.image.ImageFiles;
import io.halcyon.model.agent.GuestReport;
import io.halcyon.model.agent.HostRegistration;
import io.halcyon.model.image.Image;
import io.halcyon.model.image.ImageStatus;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

import java.util.concurrent.CompletionStage;

import static java.util.Objects.requireNonNull;

/** The agent API at {@code /agent/v1}: only agents (holding the cluster's agent token) may call it. */
public final class AgentApi {
    private static final long MAX_WAIT_MILLIS = 60_000;

    private final AgentService agents;
    private final AssignmentFeed feed;
    private final Resources res;
    private final ImageFiles images;

    public AgentApi(AgentService agents, AssignmentFeed feed, Resources res, ImageFiles images) {
        this.agents = requireNonNull(agents, "agents is null");
        this.feed = requireNonNull(feed, "feed is null");
        this.res = requireNonNull(res, "res is null");
        this.images = requireNonNull(images, "images is null");
    }

    public void register(Router router) {
        var g = router.group("/agent/v1", FaultStyle.KEYSTONE);
        g.agent("POST", "/hosts/{name}/register", r -> Reply.ok(agents.register(r.param("name"),
                read(r, HostRegistration.class))));
        g.agentAsync("POST", "/hosts/{name}/heartbeat", r -> {
            var body = r.json();
            if (!body.hasNonNull("leaseId") || !body.get("leaseId").canConvertToLong()) {
                throw ApiException.badRequest("'leaseId' is a required integer.");
            }
            long seq = body.hasNonNull("seq") && body.get("seq").canConvertToLong() ? body.get("seq").asLong() : 0;
            boolean armed = body.hasNonNull("armed") && body.get("armed").asBoolean();
            boolean afterFence = body.hasNonNull("afterFence") && body.get("afterFence").asBoolean();
            // absent: an agent that has every renewal written
            long seen = body.hasNonNull("seen") && body.get("seen").canConvertToLong() ? Math.max(1, body.get("seen").asLong()) : 0;
            boolean witness = body.hasNonNull("witness") && body.get("witness").asBoolean();
            return agents.heartbeatAsync(r.param("name"), body.get("leaseId").asLong(), seq, armed, afterFence, witness, seen)
                    .thenApply(Reply::ok);
        });
        g.agentAsync("GET", "/hosts/{name}/assignments", this::assignments);
        g.agent("POST", "/hosts/{name}/reports", r -> {
            AgentService.checkHostName(r.param("name"));
            List<GuestReport> reports = read(r, new TypeReference<List<GuestReport>>() { });
            return Reply.ok(agents.report(r.param("name"), reports));
        });
        g.agent("POST", "/hosts/{name}/backups/{id}", r -> {
            var body = r.json();
            if (body == null || !body.has("ok") || !body.get("ok").isBoolean()) {
                throw ApiException.badRequest("'ok' is a required boolean.");
            }
            agents.backupOutcome(r.param("name"), r.param("id"), body.get("ok").asBoolean(), body.path("error").asText(null));
            return Reply.empty(204);
        });
        g.agent("GET", "/images/{id}", this::image);
    }

    private CompletionStage<Reply> assignments(ApiRequest r) {
        String host = r.param("name");
        AgentService.checkHostName(host);
        long after = longParam(r, "after", 0);
        long wait = Math.min(MAX_WAIT_MILLIS, longParam(r, "waitMillis", 0));
        return feed.await(host, after, wait).thenApply(v -> Reply.ok(agents.assignments(host)));
    }

    private static long longParam(ApiRequest r, String name, long dflt) {
        String s = r.query(name);
        if (s == null) {
            return dflt;
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest(name + " must be an integer.");
        }
    }

    private Reply image(ApiRequest r) throws IOException {
        res.sync();
        Image i = res.images().get(r.param("id")).map(Versioned::value)
                .orElseThrow(() -> ApiException.notFound("No image found with ID " + r.param("id")));
        if (i.status() != ImageStatus.ACTIVE || !images.exists(i.id())) {
            throw ApiException.conflict("Image " + i.id() + " has no data (status " + i.status().wire() + ").");
        }
        var path = images.path(i.id());
        return Reply.stream(200, "application/octet-stream", Files.size(path), out -> Files.copy(path, out))
                .header("X-Image-Sha512", i.hashValue() == null ? "" : i.hashValue());
    }

    private static <T> T read(ApiRequest r, Class<T> type) {
        try {
            return ApiJson.MAPPER.readValue(r.body(), type);
        } catch (IOException e) {
            throw ApiException.badRequest("Malformed request body: " + e.getMessage());
        }
    }

    private static <T> T read(ApiRequest r, TypeReference<T> type) {
        try {
            return ApiJson.MAPPER.readValue(r.body(), type);
        } catch (IOException e) {
            throw ApiException.badRequest("Malformed request body: " + e.getMessage());
        }
    }

}
