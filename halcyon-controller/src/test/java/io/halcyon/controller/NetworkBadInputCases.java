package io.halcyon.controller;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.halcyon.controller.ApiBadInputTest.c;
import static io.halcyon.controller.ApiBadInputTest.http;
import static io.halcyon.controller.ApiBadInputTest.server;
import static io.halcyon.controller.ApiBadInputTest.tokens;
import static io.halcyon.controller.ApiBadInputTest.vars;
import static org.assertj.core.api.Assertions.assertThat;

/** The networking API's share of {@link ApiBadInputTest}: what it sets up, and its cases. */
final class NetworkBadInputCases {
    private NetworkBadInputCases() {
    }

    /** Networks for the networking cases, made after the servers above so those have no NICs. */
    static void networks() {
        var admin = Http.token(tokens.get("admin"));
        var u1 = Http.token(tokens.get("u1"));
        vars.put("pvlan", created(http.call("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "pvlan",
                "provider:network_type", "vlan", "provider:physical_network", "provider", "provider:segmentation_id", 100)), admin), "network"));
        vars.put("ext", created(http.call("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "ext",
                "provider:network_type", "flat", "provider:physical_network", "provider", "router:external", true)), admin), "network"));
        created(http.call("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", vars.get("ext"), "cidr", "172.24.4.0/24")),
                admin), "subnet");
        vars.put("net1", created(http.call("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "net1")), u1), "network"));
        vars.put("subnet1", created(http.call("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", vars.get("net1"),
                "cidr", "10.1.0.0/24")), u1), "subnet"));
        var port = http.call("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", vars.get("net1"),
                "fixed_ips", List.of(Map.of("ip_address", "10.1.0.10")))), u1);
        vars.put("port1", created(port, "port"));
        vars.put("mac1", port.json().path("port").path("mac_address").asText());
        vars.put("router1", created(http.call("POST", "/network/v2.0/routers", Map.of("router", Map.of("name", "r1")), u1), "router"));
        vars.put("sg1", created(http.call("POST", "/network/v2.0/security-groups", Map.of("security_group", Map.of("name", "sg1")), u1),
                "security_group"));
        vars.put("netp2", created(http.call("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "netp2")),
                Http.token(tokens.get("u2"))), "network"));
    }

    static String created(Http.Res r, String key) {
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json().path(key).path("id").asText();
    }

    static List<ApiBadInputTest.Case> cases() {
        String zero = "00000000-0000-0000-0000-000000000000";
        var list = new ArrayList<ApiBadInputTest.Case>();
        String nets = "/network/v2.0/networks";
        list.add(c("network: malformed JSON", "u1", "POST", nets, "{\"network\": ", 400, "NeutronError"));
        list.add(c("network: no network object", "u1", "POST", nets, Map.of("net", Map.of()), 400, "NeutronError"));
        list.add(c("network: unknown attribute", "u1", "POST", nets, Map.of("network", Map.of("colour", "red")), 400, "NeutronError"));
        list.add(c("network: name not a string", "u1", "POST", nets, Map.of("network", Map.of("name", 5)), 400, "NeutronError"));
        list.add(c("network: admin_state_up not a boolean", "u1", "POST", nets, Map.of("network", Map.of("admin_state_up", "maybe")), 400,
                "NeutronError"));
        list.add(c("network: provider attributes by a member", "u1", "POST", nets, Map.of("network", Map.of("provider:network_type",
                "vlan", "provider:physical_network", "provider", "provider:segmentation_id", 200)), 403, "NeutronError"));
        list.add(c("network: VLAN id in use", "admin", "POST", nets, Map.of("network", Map.of("provider:network_type", "vlan",
                "provider:physical_network", "provider", "provider:segmentation_id", 100)), 409, "NeutronError"));
        list.add(c("network: VLAN id out of range", "admin", "POST", nets, Map.of("network", Map.of("provider:network_type", "vlan",
                "provider:physical_network", "provider", "provider:segmentation_id", 4095)), 400, "NeutronError"));
        list.add(c("network: VLAN without an id", "admin", "POST", nets, Map.of("network", Map.of("provider:network_type", "vlan",
                "provider:physical_network", "provider")), 400, "NeutronError"));
        list.add(c("network: unknown physical network", "admin", "POST", nets, Map.of("network", Map.of("provider:network_type", "flat",
                "provider:physical_network", "nowhere")), 400, "NeutronError"));
        list.add(c("network: flat physical network in use", "admin", "POST", nets, Map.of("network", Map.of("provider:network_type",
                "flat", "provider:physical_network", "provider")), 409, "NeutronError"));
        list.add(c("network: geneve with a physical network", "admin", "POST", nets, Map.of("network", Map.of("provider:network_type",
                "geneve", "provider:physical_network", "provider")), 400, "NeutronError"));
        list.add(c("network: unknown network type", "admin", "POST", nets, Map.of("network", Map.of("provider:network_type", "gre")), 400,
                "NeutronError"));
        list.add(c("network: MTU too big", "u1", "POST", nets, Map.of("network", Map.of("mtu", 9000)), 400, "NeutronError"));
        list.add(c("network: shared by a member", "u1", "POST", nets, Map.of("network", Map.of("shared", true)), 403, "NeutronError"));
        list.add(c("network: for another project, by a member", "u1", "POST", nets, Map.of("network", Map.of("name", "n",
                "project_id", "{p2}")), 400, "NeutronError"));
        list.add(c("network: for another project as tenant_id, by a member", "u1", "POST", nets, Map.of("network", Map.of("name", "n",
                "tenant_id", "{p2}")), 400, "NeutronError"));
        list.add(c("security group: for another project, by a member", "u1", "POST", "/network/v2.0/security-groups",
                Map.of("security_group", Map.of("name", "g", "project_id", "{p2}")), 400, "NeutronError"));
        list.add(c("port: for another project, by a member", "u1", "POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id",
                "{net1}", "project_id", "{p2}")), 400, "NeutronError"));
        list.add(c("router: for another project, by a member", "u1", "POST", "/network/v2.0/routers", Map.of("router", Map.of("name", "r",
                "tenant_id", "{p2}")), 400, "NeutronError"));
        list.add(c("network: unknown id", "u1", "GET", nets + "/" + zero, null, 404, "NeutronError"));
        list.add(c("network: another project's", "u1", "GET", nets + "/{netp2}", null, 404, "NeutronError"));
        list.add(c("network: deleted with ports on it", "u1", "DELETE", nets + "/{net1}", null, 409, "NeutronError"));
        list.add(c("network: provider type updated", "admin", "PUT", nets + "/{pvlan}", Map.of("network", Map.of("provider:segmentation_id",
                101)), 400, "NeutronError"));
        list.add(c("network: created by a reader", "r1", "POST", nets, Map.of("network", Map.of("name", "x")), 403, "NeutronError"));
        list.add(c("networks: negative limit", "u1", "GET", nets + "?limit=-1", null, 400, "NeutronError"));
        list.add(c("networks: unknown marker", "u1", "GET", nets + "?marker=" + zero, null, 404, "NeutronError"));
        String subnets = "/network/v2.0/subnets";
        list.add(c("subnet: prefix over 32", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr", "10.2.0.0/33")),
                400, "NeutronError"));
        list.add(c("subnet: octet over 255", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr",
                "10.2.0.300/24")), 400, "NeutronError"));
        list.add(c("subnet: not a CIDR", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr", "banana")), 400,
                "NeutronError"));
        list.add(c("subnet: host bits set", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr", "10.2.0.5/24")),
                400, "NeutronError"));
        list.add(c("subnet: overlapping CIDR", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr",
                "10.1.0.128/25")), 400, "NeutronError"));
        list.add(c("subnet: gateway outside the subnet", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr",
                "10.2.0.0/24", "gateway_ip", "10.3.0.1")), 400, "NeutronError"));
        list.add(c("subnet: pool outside the subnet", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr",
                "10.2.0.0/24", "allocation_pools", List.of(Map.of("start", "10.2.0.10", "end", "10.2.1.10")))), 400, "NeutronError"));
        list.add(c("subnet: pool holding the gateway", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr",
                "10.2.0.0/24", "allocation_pools", List.of(Map.of("start", "10.2.0.1", "end", "10.2.0.20")))), 409, "NeutronError"));
        list.add(c("subnet: pools not a list", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr",
                "10.2.0.0/24", "allocation_pools", "10.2.0.10-10.2.0.20")), 400, "NeutronError"));
        list.add(c("subnet: bad nameserver", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr",
                "10.2.0.0/24", "dns_nameservers", List.of("dns.example"))), 400, "NeutronError"));
        list.add(c("subnet: bad host route", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}", "cidr",
                "10.2.0.0/24", "host_routes", List.of(Map.of("destination", "10.9.0.0/40", "nexthop", "10.2.0.1")))), 400, "NeutronError"));
        list.add(c("subnet: no cidr", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{net1}")), 400, "NeutronError"));
        list.add(c("subnet: unknown network", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", zero, "cidr", "10.2.0.0/24")),
                404, "NeutronError"));
        list.add(c("subnet: on another project's network", "u1", "POST", subnets, Map.of("subnet", Map.of("network_id", "{netp2}",
                "cidr", "10.2.0.0/24")), 404, "NeutronError"));
        String ports = "/network/v2.0/ports";
        list.add(c("port: fixed IP outside the subnet", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "fixed_ips",
                List.of(Map.of("subnet_id", "{subnet1}", "ip_address", "10.9.0.5")))), 400, "NeutronError"));
        list.add(c("port: fixed IP taken", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "fixed_ips",
                List.of(Map.of("ip_address", "10.1.0.10")))), 409, "NeutronError"));
        list.add(c("port: fixed IP is the gateway", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "fixed_ips",
                List.of(Map.of("ip_address", "10.1.0.1")))), 409, "NeutronError"));
        list.add(c("port: fixed IP not an address", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "fixed_ips",
                List.of(Map.of("ip_address", "10.1.0.999")))), 400, "NeutronError"));
        list.add(c("port: unknown subnet", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "fixed_ips",
                List.of(Map.of("subnet_id", zero)))), 400, "NeutronError"));
        list.add(c("port: bad MAC", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "mac_address", "zz:16:3e:00:00:01")),
                400, "NeutronError"));
        list.add(c("port: multicast MAC", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "mac_address",
                "01:16:3e:00:00:01")), 400, "NeutronError"));
        list.add(c("port: MAC in use", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "mac_address", "{mac1}")), 409,
                "NeutronError"));
        list.add(c("port: unknown network", "u1", "POST", ports, Map.of("port", Map.of("network_id", zero)), 404, "NeutronError"));
        list.add(c("port: no network", "u1", "POST", ports, Map.of("port", Map.of("name", "p")), 400, "NeutronError"));
        list.add(c("port: unknown security group", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "security_groups",
                List.of(zero))), 404, "NeutronError"));
        list.add(c("port: security groups without port security", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}",
                "port_security_enabled", false, "security_groups", List.of("{sg1}"))), 400, "NeutronError"));
        list.add(c("port: host binding by a member", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}",
                "binding:host_id", "h1")), 403, "NeutronError"));
        list.add(c("port: fixed_ips not a list", "u1", "POST", ports, Map.of("port", Map.of("network_id", "{net1}", "fixed_ips",
                "10.1.0.20")), 400, "NeutronError"));
        list.add(c("port: delete unknown", "u1", "DELETE", ports + "/" + zero, null, 404, "NeutronError"));
        list.add(c("port: MAC changed", "u1", "PUT", ports + "/{port1}", Map.of("port", Map.of("mac_address", "fa:16:3e:00:00:99")), 409,
                "NeutronError"));
        list.add(c("ports: bad fixed_ips filter", "u1", "GET", ports + "?fixed_ips=10.1.0.10", null, 400, "NeutronError"));
        String rules = "/network/v2.0/security-group-rules";
        list.add(c("rule: bad direction", "u1", "POST", rules, Map.of("security_group_rule", Map.of("security_group_id", "{sg1}",
                "direction", "sideways")), 400, "NeutronError"));
        list.add(c("rule: port range reversed", "u1", "POST", rules, Map.of("security_group_rule", Map.of("security_group_id", "{sg1}",
                "direction", "ingress", "protocol", "tcp", "port_range_min", 90, "port_range_max", 80)), 400, "NeutronError"));
        list.add(c("rule: port out of range", "u1", "POST", rules, Map.of("security_group_rule", Map.of("security_group_id", "{sg1}",
                "direction", "ingress", "protocol", "tcp", "port_range_min", 70000, "port_range_max", 70000)), 400, "NeutronError"));
        list.add(c("rule: bad remote prefix", "u1", "POST", rules, Map.of("security_group_rule", Map.of("security_group_id", "{sg1}",
                "direction", "ingress", "remote_ip_prefix", "10.0.0.0/99")), 400, "NeutronError"));
        list.add(c("rule: remote prefix and group", "u1", "POST", rules, Map.of("security_group_rule", Map.of("security_group_id", "{sg1}",
                "direction", "ingress", "remote_ip_prefix", "10.0.0.0/8", "remote_group_id", "{sg1}")), 400, "NeutronError"));
        list.add(c("rule: unknown protocol", "u1", "POST", rules, Map.of("security_group_rule", Map.of("security_group_id", "{sg1}",
                "direction", "ingress", "protocol", "carrier-pigeon")), 400, "NeutronError"));
        list.add(c("rule: unknown group", "u1", "POST", rules, Map.of("security_group_rule", Map.of("security_group_id", zero,
                "direction", "ingress")), 404, "NeutronError"));
        list.add(c("rule: delete unknown", "u1", "DELETE", rules + "/" + zero, null, 404, "NeutronError"));
        String routers = "/network/v2.0/routers";
        list.add(c("router: gateway on an unknown network", "u1", "POST", routers, Map.of("router", Map.of("external_gateway_info",
                Map.of("network_id", zero))), 404, "NeutronError"));
        list.add(c("router: gateway on a non-external network", "u1", "POST", routers, Map.of("router", Map.of("external_gateway_info",
                Map.of("network_id", "{net1}"))), 400, "NeutronError"));
        list.add(c("router: interface on an unknown subnet", "u1", "PUT", routers + "/{router1}/add_router_interface",
                Map.of("subnet_id", zero), 404, "NeutronError"));
        list.add(c("router: interface with subnet and port", "u1", "PUT", routers + "/{router1}/add_router_interface",
                Map.of("subnet_id", "{subnet1}", "port_id", "{port1}"), 400, "NeutronError"));
        list.add(c("router: remove an interface it lacks", "u1", "PUT", routers + "/{router1}/remove_router_interface",
                Map.of("subnet_id", "{subnet1}"), 404, "NeutronError"));
        String fips = "/network/v2.0/floatingips";
        list.add(c("floating IP: no network", "u1", "POST", fips, Map.of("floatingip", Map.of("port_id", "{port1}")), 400, "NeutronError"));
        list.add(c("floating IP: network not external", "u1", "POST", fips, Map.of("floatingip", Map.of("floating_network_id",
                "{net1}")), 400, "NeutronError"));
        list.add(c("floating IP: port not reachable by a router", "u1", "POST", fips, Map.of("floatingip", Map.of("floating_network_id",
                "{ext}", "port_id", "{port1}")), 404, "NeutronError"));
        list.add(c("floating IP: address outside the network", "admin", "POST", fips, Map.of("floatingip", Map.of("floating_network_id",
                "{ext}", "floating_ip_address", "10.9.9.9")), 400, "NeutronError"));
        list.add(c("network quota: set by a member", "u1", "PUT", "/network/v2.0/quotas/{p1}", Map.of("quota", Map.of("network", 1)), 403,
                "NeutronError"));
        list.add(c("network quota: below -1", "admin", "PUT", "/network/v2.0/quotas/{p1}", Map.of("quota", Map.of("network", -5)), 400,
                "NeutronError"));
        list.add(c("network quota: another project's", "u1", "GET", "/network/v2.0/quotas/{p2}", null, 403, "NeutronError"));
        list.add(c("server: networks not a list", "u1", "POST", "/compute/v2.1/servers", server(Map.of("networks", "auto")), 400,
                "badRequest"));
        list.add(c("server: network uuid malformed", "u1", "POST", "/compute/v2.1/servers",
                server(Map.of("networks", List.of(Map.of("uuid", "net1")))), 400, "badRequest"));
        list.add(c("server: fixed IP outside the network", "u1", "POST", "/compute/v2.1/servers",
                server(Map.of("networks", List.of(Map.of("uuid", "{net1}", "fixed_ip", "10.9.0.5")))), 400, "badRequest"));
        list.add(c("server: fixed IP taken", "u1", "POST", "/compute/v2.1/servers",
                server(Map.of("networks", List.of(Map.of("uuid", "{net1}", "fixed_ip", "10.1.0.10")))), 409, "conflictingRequest"));
        list.add(c("server: unknown port", "u1", "POST", "/compute/v2.1/servers", server(Map.of("networks", List.of(Map.of("port", zero)))),
                400, "badRequest"));
        list.add(c("server: port with several servers", "u1", "POST", "/compute/v2.1/servers",
                server(Map.of("networks", List.of(Map.of("port", "{port1}")), "min_count", 2)), 400, "badRequest"));
        list.add(c("server: another project's network", "u1", "POST", "/compute/v2.1/servers",
                server(Map.of("networks", List.of(Map.of("uuid", "{netp2}")))), 400, "badRequest"));
        list.add(c("server: unknown security group", "u1", "POST", "/compute/v2.1/servers",
                server(Map.of("networks", List.of(Map.of("uuid", "{net1}")), "security_groups", List.of(Map.of("name", "nope")))), 400,
                "badRequest"));
        String ifaces = "/compute/v2.1/servers/{server}/os-interface";
        list.add(c("interface: a server in error", "u1", "POST", ifaces, Map.of("interfaceAttachment", Map.of("net_id", "{net1}")), 409,
                "conflictingRequest"));
        list.add(c("interface: neither port nor network", "u1", "POST", ifaces, Map.of("interfaceAttachment", Map.of()), 400, "badRequest"));
        list.add(c("interface: port and network", "u1", "POST", ifaces, Map.of("interfaceAttachment", Map.of("net_id", "{net1}",
                "port_id", "{port1}")), 400, "badRequest"));
        list.add(c("interface: detach one not attached", "u1", "DELETE", ifaces + "/{port1}", null, 404, "itemNotFound"));
        list.add(c("interface: unknown server", "u1", "GET", "/compute/v2.1/servers/" + zero + "/os-interface", null, 404, "itemNotFound"));
        return list;
    }
}
