package io.halcyon.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.Subnet;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Reading Neutron request bodies: unknown attributes refused, each value checked with Neutron's messages. */
final class NeutronBody {
    private NeutronBody() {
    }

    /** The resource object of a request body, refusing attributes Neutron would not recognise. */
    static JsonNode resource(ApiRequest r, String key, Set<String> allowed) {
        JsonNode body = r.json();
        if (body == null || !body.isObject()) {
            throw ApiException.badRequest("Resource body required");
        }
        JsonNode v = body.get(key);
        if (v == null || !v.isObject()) {
            throw ApiException.badRequest("Unable to find '" + key + "' in request body");
        }
        var unknown = new ArrayList<String>();
        v.fieldNames().forEachRemaining(n -> {
            if (!allowed.contains(n)) {
                unknown.add(n);
            }
        });
        if (!unknown.isEmpty()) {
            throw ApiException.badRequest("Unrecognized attribute(s) '" + String.join(", ", unknown) + "'");
        }
        return v;
    }

    static String str(JsonNode o, String field) {
        return str(o, field, 255);
    }

    static String str(JsonNode o, String field, int max) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw NetworkErrors.invalid("'" + v + "' is not a valid string for " + field + ".");
        }
        if (v.asText().length() > max) {
            throw NetworkErrors.invalid("'" + v.asText() + "' exceeds maximum length of " + max + " for " + field + ".");
        }
        return v.asText();
    }

    static Boolean bool(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        if (v.isTextual() && Set.of("true", "false").contains(v.asText().toLowerCase())) {
            return Boolean.parseBoolean(v.asText());
        }
        throw NetworkErrors.invalid("'" + (v.isTextual() ? v.asText() : v.toString()) + "' cannot be converted to boolean for "
                + field + ".");
    }

    static Integer integer(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            return v.asInt();
        }
        if (v.isTextual() && v.asText().matches("-?\\d{1,9}")) {
            return Integer.parseInt(v.asText());
        }
        throw NetworkErrors.invalid("'" + (v.isTextual() ? v.asText() : v.toString()) + "' is not an integer for " + field + ".");
    }

    static List<JsonNode> objects(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw NetworkErrors.invalid("'" + v + "' is not a list for " + field + ".");
        }
        var out = new ArrayList<JsonNode>();
        for (JsonNode x : v) {
            if (!x.isObject()) {
                throw NetworkErrors.invalid("'" + x + "' is not a dictionary in " + field + ".");
            }
            out.add(x);
        }
        return out;
    }

    static List<String> strings(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw NetworkErrors.invalid("'" + v + "' is not a list for " + field + ".");
        }
        var out = new ArrayList<String>();
        for (JsonNode x : v) {
            if (!x.isTextual()) {
                throw NetworkErrors.invalid("'" + x + "' is not a valid string in " + field + ".");
            }
            out.add(x.asText());
        }
        return out;
    }

    /**
     * The project a create names (project_id or tenant_id), refused as Neutron refuses it when the
     * caller is not an admin and names a project other than its own: a member never has it replaced.
     */
    static String project(AuthContext ctx, JsonNode o) {
        String p = str(o, "project_id");
        String t = str(o, "tenant_id");
        if (p != null && t != null && !p.equals(t)) {
            throw NetworkErrors.invalid("project_id and tenant_id do not match.");
        }
        String named = p != null ? p : t;
        if (named != null && !named.equals(ctx.projectId()) && !ctx.isAdmin()) {
            throw ApiException.badRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request "
                    + "requires admin privileges");
        }
        return named;
    }

    /** For kinds made only in the caller's project: naming another one is refused, never ignored. */
    static void callersProject(AuthContext ctx, JsonNode o, String kind) {
        String named = project(ctx, o);
        if (named != null && !named.equals(ctx.projectId())) {
            throw NetworkErrors.invalid("a " + kind + " is made in the project of the caller's token; making one for project " + named
                    + " is not supported, so use a token scoped to it.");
        }
    }

    static List<Subnet.AllocationPool> pools(JsonNode o) {
        List<JsonNode> list = objects(o, "allocation_pools");
        if (list == null) {
            return null;
        }
        var out = new ArrayList<Subnet.AllocationPool>();
        for (JsonNode p : list) {
            String start = str(p, "start");
            String end = str(p, "end");
            if (start == null || end == null) {
                throw NetworkErrors.invalid("allocation pool " + p + " needs a start and an end.");
            }
            out.add(new Subnet.AllocationPool(start, end));
        }
        return out;
    }

    static List<Subnet.HostRoute> routes(JsonNode o) {
        List<JsonNode> list = objects(o, "host_routes");
        if (list == null) {
            return null;
        }
        var out = new ArrayList<Subnet.HostRoute>();
        for (JsonNode h : list) {
            String dest = str(h, "destination");
            String hop = str(h, "nexthop");
            if (dest == null || hop == null) {
                throw NetworkErrors.invalid("host route " + h + " needs a destination and a nexthop.");
            }
            out.add(new Subnet.HostRoute(dest, hop));
        }
        return out;
    }

    static List<PortService.FixedIpRequest> fixedIps(JsonNode o) {
        List<JsonNode> list = objects(o, "fixed_ips");
        if (list == null) {
            return null;
        }
        var out = new ArrayList<PortService.FixedIpRequest>();
        for (JsonNode f : list) {
            var unknown = new ArrayList<String>();
            f.fieldNames().forEachRemaining(k -> {
                if (!Set.of("subnet_id", "ip_address").contains(k)) {
                    unknown.add(k);
                }
            });
            if (!unknown.isEmpty()) {
                throw NetworkErrors.invalid("unrecognised key(s) " + unknown + " in fixed_ips.");
            }
            String subnet = str(f, "subnet_id");
            String ip = str(f, "ip_address");
            if (subnet == null && ip == null) {
                throw NetworkErrors.invalid("each fixed_ips entry needs a subnet_id or an ip_address.");
            }
            out.add(new PortService.FixedIpRequest(subnet, ip));
        }
        return out;
    }

    static List<Port.AddressPair> pairs(JsonNode o) {
        List<JsonNode> list = objects(o, "allowed_address_pairs");
        if (list == null) {
            return null;
        }
        var out = new ArrayList<Port.AddressPair>();
        for (JsonNode p : list) {
            String ip = str(p, "ip_address");
            if (ip == null) {
                throw ApiException.badRequest("AllowedAddressPair must contain ip_address").withType("AllowedAddressPairsMissingIP");
            }
            out.add(new Port.AddressPair(ip, str(p, "mac_address")));
        }
        return out;
    }
}
