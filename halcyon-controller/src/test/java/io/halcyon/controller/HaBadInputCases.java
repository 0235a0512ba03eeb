package io.halcyon.controller;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.halcyon.controller.ApiBadInputTest.c;
import static io.halcyon.controller.ApiBadInputTest.server;

/** Bad input to instance HA and server groups: the HA keys, the host HA API, server groups and their hint. */
final class HaBadInputCases {
    private HaBadInputCases() {
    }

    static List<ApiBadInputTest.Case> cases() {
        var list = new ArrayList<ApiBadInputTest.Case>();
        list.add(c("HA: HA_Enabled not a boolean", "u1", "POST", "/compute/v2.1/servers", server(Map.of("metadata", Map.of("HA_Enabled", "maybe"))),
                400, "badRequest"));
        list.add(c("HA: priority not a number", "u1", "PUT", "/compute/v2.1/servers/{server}/metadata/ha:priority",
                Map.of("meta", Map.of("ha:priority", "high")), 400, "badRequest"));
        list.add(c("HA: flavor ha:enabled not a boolean", "admin", "POST", "/compute/v2.1/flavors/1/os-extra_specs",
                Map.of("extra_specs", Map.of("ha:enabled", "sometimes")), 400, "badRequest"));
        list.add(c("HA: flavor watchdog action unknown", "admin", "POST", "/compute/v2.1/flavors/1/os-extra_specs",
                Map.of("extra_specs", Map.of("hw:watchdog_action", "explode")), 400, "badRequest"));
        list.add(c("hosts: not for members", "u1", "GET", "/halcyon/v1/hosts", null, 403, "error"));
        list.add(c("hosts: unknown host", "admin", "GET", "/halcyon/v1/hosts/nohost", null, 404, "error"));
        list.add(c("hosts: maintenance of an unknown host", "admin", "PUT", "/halcyon/v1/hosts/nohost/maintenance", Map.of("enabled", true),
                404, "error"));
        list.add(c("hosts: bmc of an unknown host", "admin", "PUT", "/halcyon/v1/hosts/nohost/bmc",
                Map.of("address", "10.0.0.1", "username", "admin", "password", "x"), 404, "error"));
        list.add(c("ha: disarmed not a boolean", "admin", "PUT", "/halcyon/v1/ha", Map.of("disarmed", "yes"), 400, "error"));
        list.add(c("ha: unknown field", "admin", "PUT", "/halcyon/v1/ha", Map.of("disarmed", true, "force", true), 400, "error"));
        list.add(c("ha: not for members", "u1", "PUT", "/halcyon/v1/ha", Map.of("disarmed", true), 403, "error"));
        list.add(c("server group: no policy", "u1", "POST", "/compute/v2.1/os-server-groups", Map.of("server_group", Map.of("name", "g")),
                400, "badRequest"));
        list.add(c("server group: unknown policy", "u1", "POST", "/compute/v2.1/os-server-groups",
                Map.of("server_group", Map.of("name", "g", "policies", List.of("spread-out"))), 400, "badRequest"));
        list.add(c("server group: two policies", "u1", "POST", "/compute/v2.1/os-server-groups",
                Map.of("server_group", Map.of("name", "g", "policies", List.of("affinity", "anti-affinity"))), 400, "badRequest"));
        list.add(c("server group: unknown field", "u1", "POST", "/compute/v2.1/os-server-groups",
                Map.of("server_group", Map.of("name", "g", "policies", List.of("affinity"), "rules", Map.of())), 400, "badRequest"));
        list.add(c("server group: unknown id", "u1", "GET", "/compute/v2.1/os-server-groups/nope", null, 404, "itemNotFound"));
        list.add(c("server group: delete unknown", "u1", "DELETE", "/compute/v2.1/os-server-groups/nope", null, 404, "itemNotFound"));
        var hinted = new java.util.HashMap<String, Object>(server(Map.of()));
        hinted.put("os:scheduler_hints", Map.of("group", "no-such-group"));
        list.add(c("server: hint of an unknown group", "u1", "POST", "/compute/v2.1/servers", hinted, 400, "badRequest"));
        var badHint = new java.util.HashMap<String, Object>(server(Map.of()));
        badHint.put("os:scheduler_hints", "group");
        list.add(c("server: hints not an object", "u1", "POST", "/compute/v2.1/servers", badHint, 400, "badRequest"));
        return list;
    }
}
