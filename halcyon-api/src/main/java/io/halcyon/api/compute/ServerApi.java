package io.halcyon.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.Body;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.RebootType;
import io.halcyon.model.compute.Server;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import static java.util.Objects.requireNonNull;

/** Nova servers at 2.1: create, list, show, update, delete, actions, metadata, instance actions. */
public final class ServerApi {
    private static final Set<String> CREATE_KEYS = Set.of("name", "imageRef", "flavorRef", "adminPass", "metadata", "networks",
            "OS-DCF:diskConfig", "personality", "accessIPv4", "accessIPv6", "key_name", "user_data", "availability_zone",
            "block_device_mapping", "block_device_mapping_v2", "config_drive", "min_count", "max_count",
            "return_reservation_id", "security_groups", "description");
    /** Nova actions Halcyon does not perform yet: answered 501, never mistaken for a typo. */
    private static final Set<String> NOT_YET = Set.of("migrate", "os-migrateLive", "evacuate", "resize", "confirmResize",
            "revertResize", "pause", "unpause", "suspend", "resume", "lock", "unlock", "rescue", "unrescue", "shelve",
            "unshelve", "shelveOffload", "createImage", "createBackup", "rebuild", "changePassword", "addSecurityGroup",
            "removeSecurityGroup", "addFixedIp", "removeFixedIp", "forceDelete", "restore", "os-resetState", "trigger_crash_dump",
            "os-getVNCConsole", "os-getSPICEConsole", "os-getSerialConsole", "os-getRDPConsole", "injectNetworkInfo",
            "resetNetwork", "os-resetNetwork");
    private static final int MAX_USER_DATA = 65535;

    private final Resources res;
    private final ServerService servers;

    public ServerApi(Resources res, ServerService servers) {
        this.res = requireNonNull(res, "res is null");
        this.servers = requireNonNull(servers, "servers is null");
    }

    public void register(Router.Group g) {
        new InterfaceApi(res, servers).register(g);
        new ServerGroupApi(res, servers.quotas()).register(g);
        g.post("/servers", "os_compute_api:servers:create", this::create);
        g.get("/servers", "os_compute_api:servers:index", r -> list(r, false));
        g.get("/servers/detail", "os_compute_api:servers:detail", r -> list(r, true));
        g.get("/servers/{id}", "os_compute_api:servers:show", r -> Reply.ok(Map.of("server", ComputeViews.server(r.baseUrl(), servers.visible(r.auth(), r.param("id")).value(), r.auth(),
                servers.serverPorts()))));
        g.put("/servers/{id}", "os_compute_api:servers:update", this::update);
        g.delete("/servers/{id}", "os_compute_api:servers:delete", r -> {
            servers.delete(r.auth(), r.param("id"), r.requestId());
            return Reply.empty(204);
        });
        g.post("/servers/{id}/action", "os_compute_api:servers:action", this::action);
        g.get("/servers/{id}/ips", "os_compute_api:ips:index", r -> {
            servers.visible(r.auth(), r.param("id"));
            return Reply.ok(Map.of("addresses", Map.of()));
        });
        g.get("/servers/{id}/metadata", "os_compute_api:server-metadata:index", r -> Reply.ok(Map.of("metadata", servers.visible(r.auth(), r.param("id")).value().spec().metadata())));
        g.post("/servers/{id}/metadata", "os_compute_api:server-metadata:create", r -> setMetadata(r, false));
        g.put("/servers/{id}/metadata", "os_compute_api:server-metadata:update_all", r -> setMetadata(r, true));
        g.get("/servers/{id}/metadata/{key}", "os_compute_api:server-metadata:show", r -> {
            var md = servers.visible(r.auth(), r.param("id")).value().spec().metadata();
            String v = md.get(r.param("key"));
            if (v == null) {
                throw ApiException.notFound("Metadata item was not found");
            }
            return Reply.ok(Map.of("meta", Map.of(r.param("key"), v)));
        });
        g.put("/servers/{id}/metadata/{key}", "os_compute_api:server-metadata:update", this::putMetadataItem);
        g.delete("/servers/{id}/metadata/{key}", "os_compute_api:server-metadata:delete", this::deleteMetadataItem);
        g.get("/servers/{id}/os-instance-actions", "os_compute_api:os-instance-actions:list", this::listActions);
        g.get("/servers/{id}/os-instance-actions/{rid}", "os_compute_api:os-instance-actions:show", this::showAction);
    }

    private Reply create(ApiRequest r) {
        AuthContext ctx = r.auth();
        Policy.requireMember(ctx, "os_compute_api:servers:create");
        JsonNode root = r.json();
        JsonNode s = Body.object(root, "server");
        Body.onlyKnown(s, CREATE_KEYS);
        String name = Body.name(s, "name", 255);
        if (!name.equals(name.strip())) {
            throw ApiException.badRequest("Invalid input for field/attribute name. Value: " + name + ". '" + name
                    + "' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'");
        }
        var blockDevices = blockDevices(s);
        String imageRef = Body.optionalString(s, "imageRef", 0, 255);
        if ((imageRef == null || imageRef.isEmpty()) && blockDevices.stream().noneMatch(ServerService.BlockDeviceRequest::bootVolume)) {
            throw ApiException.badRequest("Missing imageRef attribute");
        }
        imageRef = imageRef == null || imageRef.isEmpty() ? null : lastSegment(imageRef);
        String flavorRef = lastSegment(stringOrNumber(s, "flavorRef"));
        Map<String, String> metadata = Body.stringMap(s, "metadata", 255, 255);
        checkHaMetadata(metadata);
        String userData = Body.optionalString(s, "user_data", 0, MAX_USER_DATA * 2);
        if (userData != null) {
            try {
                byte[] decoded = Base64.getMimeDecoder().decode(userData);
                if (decoded.length > MAX_USER_DATA) {
                    throw ApiException.badRequest("User data too large. User data must be no larger than " + MAX_USER_DATA + " bytes once base64 encoded.");
                }
                if (!userData.matches("[A-Za-z0-9+/=\\s]*")) {
                    throw new IllegalArgumentException();
                }
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("User data needs to be valid base 64.");
            }
        }
        Boolean configDrive = Body.optionalBool(s, "config_drive");
        String az = Body.optionalString(s, "availability_zone", 1, 255);
        String v4 = Body.optionalString(s, "accessIPv4", 0, 64);
        String v6 = Body.optionalString(s, "accessIPv6", 0, 128);
        validateIp(v4, false);
        validateIp(v6, true);
        String description = Body.optionalString(s, "description", 0, 255);
        if (Body.has(s, "key_name")) {
            throw ApiException.badRequest("Invalid key_name provided.");
        }
        JsonNode personality = s.get("personality");
        if (personality != null && !personality.isNull() && (!personality.isArray() || !personality.isEmpty())) {
            throw ApiException.badRequest("Injected files (personality) are not supported; pass files in user_data.");
        }
        List<ServerPorts.NicRequest> nics = nics(s.get("networks"));
        List<String> groups = securityGroups(s.get("security_groups"));
        Integer min = Body.optionalInt(s, "min_count", 1, 1000, true);
        Integer max = Body.optionalInt(s, "max_count", 1, 1000, true);
        int minCount = min == null ? 1 : min;
        int maxCount = max == null ? minCount : max;
        if (maxCount < minCount) {
            throw ApiException.badRequest("min_count must be <= max_count");
        }
        var req = new ServerService.CreateRequest(name, description, imageRef, flavorRef, metadata, userData,
                configDrive != null && configDrive, az, v4, v6, minCount, maxCount, blockDevices, nics, groups, serverGroup(root));
        List<Server> created = servers.create(ctx, req, r.requestId());
        Server first = created.get(0);
        if (Body.optionalBool(s, "return_reservation_id") == Boolean.TRUE) {
            return Reply.json(202, Map.of("reservation_id", "r-" + first.id().substring(0, 8)));
        }
        var body = new LinkedHashMap<String, Object>();
        body.put("id", first.id());
        body.put("links", ComputeViews.links(r.baseUrl(), "servers", first.id()));
        body.put("OS-DCF:diskConfig", "MANUAL");
        return Reply.json(202, Map.of("server", body)).header("Location", r.baseUrl() + "/compute/v2.1/servers/" + first.id());
    }

    private static final Set<String> BDM_V2_KEYS = Set.of("source_type", "destination_type", "uuid", "boot_index", "volume_size",
            "delete_on_termination", "device_name", "volume_type", "disk_bus", "device_type", "guest_format", "tag", "no_device",
            "volume_id", "snapshot_id", "image_id");

    /** block_device_mapping_v2, or the legacy block_device_mapping translated to it. */
    static List<ServerService.BlockDeviceRequest> blockDevices(JsonNode s) {
        var out = new java.util.ArrayList<ServerService.BlockDeviceRequest>();
        JsonNode v2 = s.get("block_device_mapping_v2");
        JsonNode v1 = s.get("block_device_mapping");
        if (v2 != null && !v2.isNull() && v1 != null && !v1.isNull()) {
            throw ApiException.badRequest("Using different block_device_mapping syntaxes is not allowed");
        }
        JsonNode list = v2 != null && !v2.isNull() ? v2 : v1;
        if (list == null || list.isNull()) {
            return out;
        }
        if (!list.isArray()) {
            throw ApiException.badRequest("Invalid input for field/attribute block_device_mapping_v2. Value: " + list + ". " + list
                    + " is not of type 'array'");
        }
        for (JsonNode b : list) {
            if (!b.isObject()) {
                throw ApiException.badRequest("Invalid input for field/attribute block_device_mapping_v2: entries must be objects.");
            }
            if (list == v2) {
                Body.onlyKnown(b, BDM_V2_KEYS);
                String source = Body.optionalString(b, "source_type", 1, 20);
                String dest = Body.optionalString(b, "destination_type", 1, 20);
                String uuid = Body.optionalString(b, "uuid", 1, 255);
                Integer boot = bootIndex(b);
                Integer size = Body.optionalInt(b, "volume_size", 1, Integer.MAX_VALUE, true);
                Boolean dot = Body.optionalBool(b, "delete_on_termination");
                out.add(new ServerService.BlockDeviceRequest(source, dest, uuid, boot, size, dot != null && dot,
                        Body.optionalString(b, "device_name", 1, 255), Body.optionalString(b, "volume_type", 1, 255)));
            } else {
                String volume = Body.optionalString(b, "volume_id", 1, 255);
                String snapshot = Body.optionalString(b, "snapshot_id", 1, 255);
                Integer size = Body.optionalInt(b, "volume_size", 1, Integer.MAX_VALUE, true);
                Boolean dot = Body.optionalBool(b, "delete_on_termination");
                String device = Body.optionalString(b, "device_name", 1, 255);
                if (volume == null && snapshot == null) {
                    throw ApiException.badRequest("A legacy block device mapping needs volume_id or snapshot_id.");
                }
                boolean root = device != null && (device.equals("vda") || device.equals("/dev/vda"));
                out.add(new ServerService.BlockDeviceRequest(volume != null ? "volume" : "snapshot", "volume",
                        volume != null ? volume : snapshot, root ? 0 : null, size, dot != null && dot, device, null));
            }
        }
        return out;
    }

    private static Integer bootIndex(JsonNode b) {
        JsonNode v = b.get("boot_index");
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isTextual() && v.asText().equals("none")) {
            return null;
        }
        return Body.optionalInt(b, "boot_index", -1, 1000, true);
    }

    private static String stringOrNumber(JsonNode s, String field) {
        JsonNode v = s.get(field);
        if (v == null || v.isNull()) {
            throw ApiException.badRequest("'" + field + "' is a required property");
        }
        if (v.isIntegralNumber()) {
            return v.asText();
        }
        String out = Body.string(s, field, 1, 255);
        return out;
    }

    private static String lastSegment(String ref) {
        String t = ref.trim();
        int slash = t.lastIndexOf('/');
        return slash >= 0 ? t.substring(slash + 1) : t;
    }

    private static void validateIp(String ip, boolean v6) {
        if (ip == null || ip.isEmpty()) {
            return;
        }
        boolean ok = v6 ? ip.contains(":") && ip.matches("[0-9a-fA-F:.]+") : ip.matches("(\\d{1,3}\\.){3}\\d{1,3}")
                && java.util.Arrays.stream(ip.split("\\.")).allMatch(p -> Integer.parseInt(p) <= 255);
        if (!ok) {
            throw ApiException.badRequest("Invalid input for field/attribute accessIPv" + (v6 ? "6" : "4") + ". Value: " + ip
                    + ". '" + ip + "' is not a '" + (v6 ? "ipv6" : "ipv4") + "'");
        }
    }

    private Reply list(ApiRequest r, boolean detail) {
        AuthContext ctx = r.auth();
        Policy.requireReader(ctx, "os_compute_api:servers:index");
        res.sync();
        boolean allTenants = ctx.isAdmin() && truthy(r.query("all_tenants"));
        String project = ctx.isAdmin() ? first(r.query("project_id"), r.query("tenant_id")) : null;
        String name = r.query("name");
        Pattern namePattern = null;
        if (name != null) {
            try {
                namePattern = Pattern.compile(name);
            } catch (PatternSyntaxException e) {
                namePattern = Pattern.compile(Pattern.quote(name));
            }
        }
        String status = r.query("status");
        String image = r.query("image");
        String flavor = r.query("flavor");
        String host = ctx.isAdmin() ? r.query("host") : null;
        Instant changesSince = parseTime(r, "changes-since");
        List<Versioned<Server>> source;
        if (allTenants && project == null) {
            source = res.servers().list();
        } else {
            source = res.servers().byIndex(Resources.BY_PROJECT, project != null ? project : ctx.projectId());
        }
        var matched = new ArrayList<Server>(source.size());
        for (Versioned<Server> v : source) {
            Server s = v.value();
            if (namePattern != null && !namePattern.matcher(s.spec().name()).find()) {
                continue;
            }
            if (status != null && !status.equalsIgnoreCase(s.status().apiStatus())) {
                continue;
            }
            if (image != null && !image.equals(s.spec().imageId())) {
                continue;
            }
            if (flavor != null && !flavor.equals(s.spec().flavor().id())) {
                continue;
            }
            if (host != null && !host.equals(s.status().host())) {
                continue;
            }
            if (changesSince != null && s.status().updatedAt().isBefore(changesSince)) {
                continue;
            }
            matched.add(s);
        }
        matched.sort(Comparator.comparing(Server::createdAt).reversed().thenComparing(Server::id, Comparator.reverseOrder()));
        List<Server> page = ComputePaging.page(r, matched, Server::id, "server");
        var out = new ArrayList<Map<String, Object>>(page.size());
        for (Server s : page) {
            out.add(detail ? ComputeViews.server(r.baseUrl(), s, ctx, servers.serverPorts()) : ComputeViews.serverSummary(r.baseUrl(), s));
        }
        var body = new LinkedHashMap<String, Object>();
        body.put("servers", out);
        int limit = ComputePaging.limit(r);
        if (r.query("limit") != null && page.size() == limit && !page.isEmpty()
                && matched.indexOf(page.get(page.size() - 1)) < matched.size() - 1) {
            body.put("servers_links", List.of(Map.of("rel", "next", "href", r.baseUrl() + "/compute/v2.1/servers"
                    + (detail ? "/detail" : "") + "?limit=" + limit + "&marker=" + page.get(page.size() - 1).id())));
        }
        return Reply.ok(body);
    }

    private static String first(String a, String b) {
        return a != null ? a : b;
    }

    private static boolean truthy(String s) {
        return s != null && (s.isEmpty() || Set.of("1", "true", "t", "yes", "y", "on").contains(s.toLowerCase()));
    }

    private static Instant parseTime(ApiRequest r, String name) {
        String s = r.query(name);
        if (s == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return Instant.parse(s.endsWith("Z") ? s : s + "Z");
            } catch (DateTimeParseException e2) {
                throw ApiException.badRequest("Invalid " + name + " value: " + s);
            }
        }
    }

    private Reply update(ApiRequest r) {
        JsonNode s = Body.object(r.json(), "server");
        Body.onlyKnown(s, Set.of("name", "accessIPv4", "accessIPv6", "description", "OS-DCF:diskConfig"));
        String name = Body.optionalName(s, "name", 255);
        String v4 = Body.optionalString(s, "accessIPv4", 0, 64);
        String v6 = Body.optionalString(s, "accessIPv6", 0, 128);
        validateIp(v4, false);
        validateIp(v6, true);
        String description = Body.optionalString(s, "description", 0, 255);
        Server updated = servers.update(r.auth(), r.param("id"), r.requestId(), (cur, now) -> {
            var spec = cur.spec();
            if (name != null) {
                spec = spec.withName(name);
            }
            if (description != null) {
                spec = spec.withDescription(description);
            }
            if (v4 != null || v6 != null) {
                spec = spec.withAccessIPs(v4 != null ? v4 : spec.accessIPv4(), v6 != null ? v6 : spec.accessIPv6());
            }
            return cur.withSpec(spec);
        });
        return Reply.ok(Map.of("server", ComputeViews.server(r.baseUrl(), updated, r.auth(), servers.serverPorts())));
    }

    private Reply action(ApiRequest r) {
        JsonNode body = r.json();
        if (body.size() != 1) {
            throw ApiException.badRequest("An action body must name exactly one action.");
        }
        String action = body.fieldNames().next();
        JsonNode arg = body.get(action);
        String id = r.param("id");
        switch (action) {
            case "os-stop" -> {
                servers.stop(r.auth(), id, r.requestId());
                return Reply.empty(202);
            }
            case "os-start" -> {
                servers.start(r.auth(), id, r.requestId());
                return Reply.empty(202);
            }
            case "reboot" -> {
                if (arg == null || !arg.isObject()) {
                    throw ApiException.badRequest("Invalid input for field/attribute reboot. Value: " + arg + ". " + arg
                            + " is not of type 'object'");
                }
                String type = Body.string(arg, "type", 1, 10);
                RebootType t;
                if (type.equalsIgnoreCase("SOFT")) {
                    t = RebootType.SOFT;
                } else if (type.equalsIgnoreCase("HARD")) {
                    t = RebootType.HARD;
                } else {
                    throw ApiException.badRequest("Invalid input for field/attribute type. Value: " + type + ". '" + type
                            + "' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']");
                }
                servers.reboot(r.auth(), id, t, r.requestId());
                return Reply.empty(202);
            }
            case "os-getConsoleOutput" -> {
                Integer length = null;
                if (arg != null && !arg.isNull()) {
                    if (!arg.isObject()) {
                        throw ApiException.badRequest("Invalid input for field/attribute os-getConsoleOutput.");
                    }
                    length = Body.optionalInt(arg, "length", -1, Integer.MAX_VALUE, true);
                }
                return Reply.ok(Map.of("output", servers.consoleOutput(r.auth(), id, length)));
            }
            default -> {
                servers.visible(r.auth(), id);
                if (NOT_YET.contains(action)) {
                    throw ApiException.notImplemented("Action " + action + " is not available in this Halcyon release.");
                }
                throw ApiException.badRequest("There is no such action: " + action);
            }
        }
    }

    private Reply setMetadata(ApiRequest r, boolean replace) {
        Map<String, String> md = Body.stringMap(r.json(), "metadata", 255, 255);
        if (md == null) {
            throw ApiException.badRequest("'metadata' is a required property");
        }
        Server updated = updateMetadata(r, cur -> {
            var m = replace ? new TreeMap<String, String>() : new TreeMap<>(cur);
            m.putAll(md);
            return m;
        });
        return Reply.ok(Map.of("metadata", updated.spec().metadata()));
    }

    private Reply putMetadataItem(ApiRequest r) {
        JsonNode meta = Body.object(r.json(), "meta");
        String key = r.param("key");
        if (meta.size() != 1 || !meta.has(key)) {
            throw ApiException.badRequest("Request body and URI mismatch");
        }
        Map<String, String> one = Body.stringMap(r.json(), "meta", 255, 255);
        updateMetadata(r, cur -> {
            var m = new TreeMap<>(cur);
            m.putAll(one);
            return m;
        });
        return Reply.ok(Map.of("meta", one));
    }

    private Reply deleteMetadataItem(ApiRequest r) {
        String key = r.param("key");
        if (!servers.visible(r.auth(), r.param("id")).value().spec().metadata().containsKey(key)) {
            throw ApiException.notFound("Metadata item was not found");
        }
        updateMetadata(r, cur -> {
            var m = new TreeMap<>(cur);
            m.remove(key);
            return m;
        });
        return Reply.empty(204);
    }

    /** The server group of {@code os:scheduler_hints}, or null; other hints are accepted and ignored, as Nova's unused filters do. */
    private static String serverGroup(JsonNode root) {
        JsonNode hints = root.get("os:scheduler_hints");
        if (hints == null || hints.isNull()) {
            return null;
        }
        if (!hints.isObject()) {
            throw ApiException.badRequest("Invalid input for field/attribute os:scheduler_hints: it must be an object.");
        }
        JsonNode g = hints.get("group");
        if (g == null || g.isNull()) {
            return null;
        }
        if (!g.isTextual() || g.asText().isEmpty()) {
            throw ApiException.badRequest("Invalid input for field/attribute group: it must be a server group's id.");
        }
        return g.asText();
    }

    /** Masakari's HA_Enabled (and ha:priority) must mean something: a typo would silently leave a server without HA. */
    private static void checkHaMetadata(Map<String, String> md) {
        String problem = md == null ? null : io.halcyon.ha.HaPolicy.problem(md);
        if (problem != null) {
            throw ApiException.badRequest("Invalid input for field/attribute metadata. " + problem);
        }
    }

    private Server updateMetadata(ApiRequest r, java.util.function.UnaryOperator<Map<String, String>> fn) {
        int limit = servers.quotas().of(r.auth().projectId()).metadataItems();
        return servers.update(r.auth(), r.param("id"), r.requestId(), (cur, now) -> {
            Map<String, String> next = fn.apply(cur.spec().metadata());
            checkHaMetadata(next);
            if (limit >= 0 && next.size() > limit) {
                throw ApiException.forbidden("Quota exceeded for metadata_items: Requested " + next.size() + ", but already used 0 of "
                        + limit + " metadata_items");
            }
            return cur.withSpec(cur.spec().withMetadata(next));
        });
    }

    private Reply listActions(ApiRequest r) {
        Server s = servers.visible(r.auth(), r.param("id")).value();
        var list = new ArrayList<InstanceAction>();
        for (var v : res.instanceActions().byIndex(Resources.BY_SERVER, s.id())) {
            list.add(v.value());
        }
        list.sort(Comparator.comparing(InstanceAction::startTime).reversed());
        var out = new ArrayList<Map<String, Object>>();
        for (InstanceAction a : list) {
            out.add(ComputeViews.action(a, false, r.auth().isAdmin()));
        }
        return Reply.ok(Map.of("instanceActions", out));
    }

    private Reply showAction(ApiRequest r) {
        Server s = servers.visible(r.auth(), r.param("id")).value();
        for (var v : res.instanceActions().byIndex(Resources.BY_SERVER, s.id())) {
            if (v.value().requestId().equals(r.param("rid"))) {
                return Reply.ok(Map.of("instanceAction", ComputeViews.action(v.value(), true, r.auth().isAdmin())));
            }
        }
        throw ApiException.notFound("Action for request_id " + r.param("rid") + " on instance " + s.id() + " not found");
    }

    static String decodeUserData(String b64) {
        return new String(Base64.getMimeDecoder().decode(b64), StandardCharsets.UTF_8);
    }
    /** Nova's {@code networks}: a list of {uuid, fixed_ip} or {port}; absent means the project's one network. */
    static List<ServerPorts.NicRequest> nics(JsonNode networks) {
        if (networks == null || networks.isNull()) {
            return null;
        }
        if (networks.isTextual() && Set.of("none", "auto").contains(networks.asText())) {
            throw ApiException.badRequest("Invalid input for field/attribute networks. Value: " + networks.asText()
                    + ". '" + networks.asText() + "' is not of type 'array' (auto and none need microversion 2.37)");
        }
        if (!networks.isArray()) {
            throw ApiException.badRequest("Invalid input for field/attribute networks. Value: " + networks + ". " + networks
                    + " is not of type 'array'");
        }
        var out = new ArrayList<ServerPorts.NicRequest>();
        for (JsonNode n : networks) {
            if (!n.isObject()) {
                throw ApiException.badRequest("Bad networks format");
            }
            Body.onlyKnown(n, Set.of("uuid", "port", "fixed_ip", "tag"));
            String uuid = Body.optionalString(n, "uuid", 1, 255);
            String port = Body.optionalString(n, "port", 1, 255);
            String fixed = Body.optionalString(n, "fixed_ip", 1, 64);
            if (uuid == null && port == null) {
                throw ApiException.badRequest("Bad networks format: network uuid is not in proper format ()");
            }
            if (port != null) {
                if (fixed != null) {
                    throw ApiException.badRequest("Bad networks format: a port already has its addresses; fixed_ip goes with uuid.");
                }
                out.add(new ServerPorts.NicRequest(null, port, null));
                continue;
            }
            if (!uuid.matches("[0-9a-fA-F-]{32,36}")) {
                throw ApiException.badRequest("Bad networks format: network uuid is not in proper format (" + uuid + ")");
            }
            if (fixed != null) {
                try {
                    io.halcyon.model.network.Ipv4.parse(fixed);
                } catch (IllegalArgumentException e) {
                    throw ApiException.badRequest("Invalid fixed IP address (" + fixed + ")");
                }
            }
            out.add(new ServerPorts.NicRequest(uuid, null, fixed));
        }
        return out;
    }

    static List<String> securityGroups(JsonNode sgs) {
        if (sgs == null || sgs.isNull()) {
            return null;
        }
        if (!sgs.isArray()) {
            throw ApiException.badRequest("Invalid input for field/attribute security_groups.");
        }
        var out = new ArrayList<String>();
        for (JsonNode g : sgs) {
            if (!g.isObject() || !g.hasNonNull("name") || !g.get("name").isTextual() || g.get("name").asText().isEmpty()) {
                throw ApiException.badRequest("Invalid input for field/attribute security_groups: each entry needs a name.");
            }
            out.add(g.get("name").asText());
        }
        return out;
    }
}
