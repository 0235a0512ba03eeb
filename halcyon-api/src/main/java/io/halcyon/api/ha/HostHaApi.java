package io.halcyon.api.ha;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.PolicyTable;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;

import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Halcyon's own HA API under {@code /halcyon/v1} (admins only): {@code hosts} with their HA state
 * and {@code events}, {@code maintenance}, {@code ha} (disarm), {@code bmc}; and {@code ha} for
 * the cluster. What {@code halcyon host ...} and {@code halcyon ha ...} call.
 */
public final class HostHaApi {
    private final HostHaService service;

    public HostHaApi(HostHaService service) {
        this.service = requireNonNull(service, "service is null");
    }

    public void register(Router router) {
        var g = router.group("/halcyon/v1", FaultStyle.KEYSTONE, PolicyTable.load("halcyon", PolicyTable.Style.HALCYON));
        g.get("/hosts", "halcyon:host:list", r -> Reply.ok(Map.of("hosts", service.list())));
        g.get("/hosts/{name}", "halcyon:host:get", r -> Reply.ok(Map.of("host", service.show(r.param("name")))));
        g.get("/hosts/{name}/events", "halcyon:host:events", r -> Reply.ok(Map.of("events", service.events(r.param("name")))));
        g.put("/hosts/{name}/maintenance", "halcyon:host:maintenance", r -> {
            JsonNode b = body(r, Set.of("enabled"));
            return Reply.ok(Map.of("host", service.setMaintenance(r.param("name"), bool(b, "enabled"))));
        });
        g.put("/hosts/{name}/ha", "halcyon:host:ha", r -> {
            JsonNode b = body(r, Set.of("disarmed"));
            return Reply.ok(Map.of("host", service.setDisarmed(r.param("name"), bool(b, "disarmed"))));
        });
        g.put("/hosts/{name}/bmc", "halcyon:host:bmc", r -> {
            JsonNode b = body(r, Set.of("address", "port", "username", "password"));
            Integer port = null;
            if (b.has("port")) {
                if (!b.get("port").canConvertToInt()) {
                    throw ApiException.badRequest("'port' must be an integer.");
                }
                port = b.get("port").asInt();
            }
            return Reply.ok(Map.of("host", service.setBmc(r.param("name"), text(b, "address"), port, text(b, "username"),
                    text(b, "password"))));
        });
        g.delete("/hosts/{name}/bmc", "halcyon:host:bmc", r -> Reply.ok(Map.of("host", service.clearBmc(r.param("name")))));
        g.get("/ha", "halcyon:ha:get", r -> Reply.ok(Map.of("ha", service.cluster())));
        g.put("/ha", "halcyon:ha:update", r -> {
            JsonNode b = body(r, Set.of("disarmed"));
            return Reply.ok(Map.of("ha", service.setClusterDisarmed(bool(b, "disarmed"))));
        });
    }

    private static JsonNode body(ApiRequest r, Set<String> allowed) {
        JsonNode b = r.json();
        if (b == null || !b.isObject()) {
            throw ApiException.badRequest("The request body must be a JSON object.");
        }
        b.fieldNames().forEachRemaining(f -> {
            if (!allowed.contains(f)) {
                throw ApiException.badRequest("Unknown field '" + f + "'; expected " + String.join(", ", allowed) + ".");
            }
        });
        return b;
    }

    private static boolean bool(JsonNode b, String f) {
        if (!b.has(f) || !b.get(f).isBoolean()) {
            throw ApiException.badRequest("'" + f + "' is a required boolean.");
        }
        return b.get(f).asBoolean();
    }

    private static String text(JsonNode b, String f) {
        if (!b.has(f)) {
            return null;
        }
        if (!b.get(f).isTextual()) {
            throw ApiException.badRequest("'" + f + "' must be a string.");
        }
        return b.get(f).asText();
    }
}
