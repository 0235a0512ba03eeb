package io.halcyon.api.network;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.auth.PolicyTable;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.http.ApiRequest;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.model.network.NetworkQuota;
import io.halcyon.model.network.NetworkQuotaRecord;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.Subnet;
import io.halcyon.runtime.ConflictException;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Resources;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import static io.halcyon.api.network.NeutronBody.bool;
import static io.halcyon.api.network.NeutronBody.fixedIps;
import static io.halcyon.api.network.NeutronBody.integer;
import static io.halcyon.api.network.NeutronBody.pairs;
import static io.halcyon.api.network.NeutronBody.pools;
import static io.halcyon.api.network.NeutronBody.project;
import static io.halcyon.api.network.NeutronBody.resource;
import static io.halcyon.api.network.NeutronBody.routes;
import static io.halcyon.api.network.NeutronBody.str;
import static io.halcyon.api.network.NeutronBody.strings;
import static io.halcyon.api.network.NeutronLists.list;
import static io.halcyon.api.network.NeutronLists.one;
import static java.util.Objects.requireNonNull;

/** Neutron's networking v2.0 at {@code /network/v2.0}: networks, subnets, ports, security groups, routers, floating IPs, quotas. */
public final class NetworkApi {
    private static final Set<String> NETWORK_KEYS = Set.of("name", "description", "admin_state_up", "shared", "router:external",
            "provider:network_type", "provider:physical_network", "provider:segmentation_id", "mtu", "port_security_enabled",
            "tenant_id", "project_id", "availability_zone_hints", "is_default", "dns_domain", "tags");
    private static final Set<String> SUBNET_KEYS = Set.of("network_id", "name", "description", "ip_version", "cidr", "gateway_ip",
            "allocation_pools", "dns_nameservers", "host_routes", "enable_dhcp", "tenant_id", "project_id", "ipv6_ra_mode",
            "ipv6_address_mode", "subnetpool_id", "prefixlen", "use_default_subnetpool", "service_types", "segment_id", "tags");
    private static final Set<String> PORT_KEYS = Set.of("network_id", "name", "description", "admin_state_up", "mac_address",
            "fixed_ips", "device_owner", "device_id", "security_groups", "port_security_enabled", "allowed_address_pairs",
            "binding:host_id", "binding:vnic_type", "binding:profile", "tenant_id", "project_id", "tags", "extra_dhcp_opts",
            "dns_name", "qos_policy_id", "propagate_uplink_status");
    private static final Set<String> GROUP_KEYS = Set.of("name", "description", "stateful", "tenant_id", "project_id", "tags");
    private static final Set<String> RULE_KEYS = Set.of("security_group_id", "direction", "ethertype", "protocol", "port_range_min",
            "port_range_max", "remote_ip_prefix", "remote_group_id", "description", "tenant_id", "project_id",
            "remote_address_group_id");
    private static final Set<String> ROUTER_KEYS = Set.of("name", "description", "admin_state_up", "external_gateway_info",
            "tenant_id", "project_id", "distributed", "ha", "availability_zone_hints", "routes", "tags", "flavor_id");
    private static final Set<String> FIP_KEYS = Set.of("floating_network_id", "floating_ip_address", "port_id", "fixed_ip_address",
            "description", "tenant_id", "project_id", "subnet_id", "dns_name", "dns_domain", "qos_policy_id", "tags");
    private static final List<String[]> EXTENSIONS = List.of(
            new String[]{"external-net", "Neutron external network", "Adds external network attribute to network resource."},
            new String[]{"provider", "Provider Network", "Expose mapping of virtual networks to physical networks"},
            new String[]{"router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."},
            new String[]{"ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"},
            new String[]{"security-group", "security-group", "The security groups extension."},
            new String[]{"port-security", "Port Security", "Provides port security"},
            new String[]{"allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"},
            new String[]{"binding", "Port Binding", "Expose port bindings of a virtual port to external application"},
            new String[]{"quotas", "Quota management support", "Expose functions for quotas management per project"},
            new String[]{"quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"},
            new String[]{"net-mtu", "Network MTU", "Provides MTU attribute for a network resource."},
            new String[]{"project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."},
            new String[]{"standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"},
            new String[]{"standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources."},
            new String[]{"standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."},
            new String[]{"stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not"});

    private final Resources res;
    private final NetworkService net;
    private final SecurityGroupService groups;
    private final RouterService routers;
    private final NetworkQuotas quotas;
    private final Predicate<String> projectExists;

    public NetworkApi(Resources res, NetworkService net, RouterService routers, NetworkQuotas quotas, Predicate<String> projectExists) {
        this.res = requireNonNull(res, "res is null");
        this.net = requireNonNull(net, "net is null");
        this.groups = net.groups();
        this.routers = requireNonNull(routers, "routers is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.projectExists = requireNonNull(projectExists, "projectExists is null");
    }

    public void register(Router router) {
        var root = router.group("/network", FaultStyle.NEUTRON);
        root.open("GET", "", r -> Reply.ok(Map.of("versions", List.of(Map.of("id", "v2.0", "status", "CURRENT",
                "links", List.of(Map.of("rel", "self", "href", r.baseUrl() + "/network/v2.0/")))))));
        var g = router.group("/network/v2.0", FaultStyle.NEUTRON, PolicyTable.load("network", PolicyTable.Style.NEUTRON));
        g.get("", "get_api", r -> {
            var list = new ArrayList<Map<String, Object>>();
            for (String[] c : new String[][]{{"network", "networks"}, {"subnet", "subnets"}, {"port", "ports"},
                    {"security_group", "security-groups"}, {"security_group_rule", "security-group-rules"}, {"router", "routers"},
                    {"floatingip", "floatingips"}, {"quota", "quotas"}, {"extension", "extensions"}}) {
                list.add(Map.of("name", c[0], "collection", c[1],
                        "links", List.of(Map.of("rel", "self", "href", r.baseUrl() + "/network/v2.0/" + c[1]))));
            }
            return Reply.ok(Map.of("resources", list));
        });
        g.get("/extensions", "get_extension", r -> {
            var list = new ArrayList<Map<String, Object>>();
            EXTENSIONS.forEach(e -> list.add(extension(e)));
            return Reply.ok(Map.of("extensions", list));
        });
        g.get("/extensions/{alias}", "get_extension", r -> Reply.ok(Map.of("extension", extension(EXTENSIONS.stream()
                .filter(e -> e[0].equals(r.param("alias"))).findFirst()
                .orElseThrow(() -> ApiException.notFound("Extension with alias " + r.param("alias") + " does not exist"))))));

        g.post("/networks", "create_network", this::createNetwork);
        g.get("/networks", "get_network", r -> list(r, "networks", net.listNetworks(r.auth()).stream().map(n -> networkView(n.id(), r.auth())).toList()));
        g.get("/networks/{id}", "get_network", r -> one(r, "network", networkView(net.visibleNetwork(r.auth(), r.param("id")).value().id(), r.auth())));
        g.put("/networks/{id}", "update_network", this::updateNetwork);
        g.delete("/networks/{id}", "delete_network", r -> {
            net.deleteNetwork(r.auth(), r.param("id"));
            return Reply.empty(204);
        });

        g.post("/subnets", "create_subnet", this::createSubnet);
        g.get("/subnets", "get_subnet", r -> list(r, "subnets", net.listSubnets(r.auth()).stream().map(NetworkViews::subnet).toList()));
        g.get("/subnets/{id}", "get_subnet", r -> one(r, "subnet", NetworkViews.subnet(net.visibleSubnet(r.auth(), r.param("id")).value())));
        g.put("/subnets/{id}", "update_subnet", this::updateSubnet);
        g.delete("/subnets/{id}", "delete_subnet", r -> {
            net.deleteSubnet(r.auth(), r.param("id"));
            return Reply.empty(204);
        });

        g.post("/ports", "create_port", this::createPort);
        g.get("/ports", "get_port", r -> list(r, "ports", net.listPorts(r.auth()).stream().map(p -> NetworkViews.port(p, r.auth())).toList()));
        g.get("/ports/{id}", "get_port", r -> one(r, "port", NetworkViews.port(net.visiblePort(r.auth(), r.param("id")).value(), r.auth())));
        g.put("/ports/{id}", "update_port", this::updatePort);
        g.delete("/ports/{id}", "delete_port", r -> {
            net.ports().deletePort(r.auth(), r.param("id"));
            return Reply.empty(204);
        });

        g.post("/security-groups", "create_security_group", this::createGroup);
        g.get("/security-groups", "get_security_group", r -> list(r, "security_groups", groups.list(r.auth()).stream()
                .map(sg -> NetworkViews.securityGroup(sg, groups.rulesOf(sg.id()))).toList()));
        g.get("/security-groups/{id}", "get_security_group", r -> {
            var sg = groups.visible(r.auth(), r.param("id")).value();
            return one(r, "security_group", NetworkViews.securityGroup(sg, groups.rulesOf(sg.id())));
        });
        g.put("/security-groups/{id}", "update_security_group", this::updateGroup);
        g.delete("/security-groups/{id}", "delete_security_group", r -> {
            groups.delete(r.auth(), r.param("id"));
            return Reply.empty(204);
        });
        g.post("/security-group-rules", "create_security_group_rule", this::createRule);
        g.get("/security-group-rules", "get_security_group_rule", r -> list(r, "security_group_rules", groups.listRules(r.auth()).stream()
                .map(NetworkViews::rule).toList()));
        g.get("/security-group-rules/{id}", "get_security_group_rule", r -> one(r, "security_group_rule",
                NetworkViews.rule(groups.visibleRule(r.auth(), r.param("id")).value())));
        g.delete("/security-group-rules/{id}", "delete_security_group_rule", r -> {
            groups.deleteRule(r.auth(), r.param("id"));
            return Reply.empty(204);
        });

        g.post("/routers", "create_router", this::createRouter);
        g.get("/routers", "get_router", r -> list(r, "routers", routers.list(r.auth()).stream()
                .map(x -> NetworkViews.router(x, routers.gatewayPort(x.id()))).toList()));
        g.get("/routers/{id}", "get_router", r -> {
            var x = routers.visible(r.auth(), r.param("id")).value();
            return one(r, "router", NetworkViews.router(x, routers.gatewayPort(x.id())));
        });
        g.put("/routers/{id}", "update_router", this::updateRouter);
        g.delete("/routers/{id}", "delete_router", r -> {
            routers.delete(r.auth(), r.param("id"));
            return Reply.empty(204);
        });
        g.put("/routers/{id}/add_router_interface", "add_router_interface", r -> routerInterface(r, true));
        g.put("/routers/{id}/remove_router_interface", "remove_router_interface", r -> routerInterface(r, false));

        g.post("/floatingips", "create_floatingip", this::createFloatingIp);
        g.get("/floatingips", "get_floatingip", r -> list(r, "floatingips", routers.listFloatingIps(r.auth()).stream()
                .map(NetworkViews::floatingIp).toList()));
        g.get("/floatingips/{id}", "get_floatingip", r -> one(r, "floatingip",
                NetworkViews.floatingIp(routers.visibleFloatingIp(r.auth(), r.param("id")).value())));
        g.put("/floatingips/{id}", "update_floatingip", this::updateFloatingIp);
        g.delete("/floatingips/{id}", "delete_floatingip", r -> {
            routers.deleteFloatingIp(r.auth(), r.param("id"));
            return Reply.empty(204);
        });

        g.get("/quotas", "get_quotas", r -> {
            res.sync();
            var list = new ArrayList<Map<String, Object>>();
            for (var q : res.networkQuotas().list()) {
                var m = new LinkedHashMap<String, Object>(NetworkQuotas.view(q.value().quota()));
                m.put("project_id", q.value().projectId());
                m.put("tenant_id", q.value().projectId());
                list.add(m);
            }
            return Reply.ok(Map.of("quotas", list));
        });
        g.get("/quotas/{project}", "get_quota", r -> Reply.ok(Map.of("quota", NetworkQuotas.view(quotas.of(quotaTarget(r, false))))));
        g.get("/quotas/{project}/default", "get_quota", r -> {
            quotaTarget(r, false);
            return Reply.ok(Map.of("quota", NetworkQuotas.view(quotas.defaults())));
        });
        g.get("/quotas/{project}/details", "get_quota", r -> {
            String target = quotaTarget(r, false);
            var limits = NetworkQuotas.view(quotas.of(target));
            var used = quotas.usage(target);
            var m = new LinkedHashMap<String, Object>();
            limits.forEach((k, v) -> m.put(k, Map.of("limit", v, "used", used.get(k), "reserved", 0)));
            return Reply.ok(Map.of("quota", m));
        });
        g.put("/quotas/{project}", "update_quota", this::updateQuota);
        g.delete("/quotas/{project}", "delete_quota", r -> {
            String target = quotaTarget(r, true);
            res.networkQuotas().get(target).ifPresent(q -> {
                try {
                    res.awaitRevision(res.repo(Kinds.NETWORK_QUOTAS).delete(target, q.revision()));
                } catch (ConflictException e) {
                    throw ApiException.conflict("Quota for project " + target + " changed concurrently; retry.");
                }
            });
            return Reply.empty(204);
        });
    }

    private static Map<String, Object> extension(String[] e) {
        var m = new LinkedHashMap<String, Object>();
        m.put("alias", e[0]);
        m.put("name", e[1]);
        m.put("description", e[2]);
        m.put("updated", "2013-01-01T10:00:00-00:00");
        m.put("links", List.of());
        return m;
    }

    private Map<String, Object> networkView(String id, AuthContext ctx) {
        var n = net.visibleNetwork(ctx, id).value();
        return NetworkViews.network(n, net.subnetsOf(id).stream().map(Subnet::id).toList(), ctx);
    }

    // ---- networks ------------------------------------------------------------------------------

    private Reply createNetwork(ApiRequest r) {
        JsonNode o = resource(r, "network", NETWORK_KEYS);
        var req = new NetworkService.NetworkRequest(str(o, "name"), str(o, "description"), bool(o, "admin_state_up"), bool(o, "shared"),
                bool(o, "router:external"), str(o, "provider:network_type"), str(o, "provider:physical_network"),
                integer(o, "provider:segmentation_id"), integer(o, "mtu"), bool(o, "port_security_enabled"), project(r.auth(), o));
        var n = net.createNetwork(r.auth(), req);
        return Reply.json(201, Map.of("network", networkView(n.id(), r.auth())));
    }

    private Reply updateNetwork(ApiRequest r) {
        JsonNode o = resource(r, "network", NETWORK_KEYS);
        for (String fixed : List.of("provider:network_type", "provider:physical_network", "provider:segmentation_id", "tenant_id",
                "project_id")) {
            if (o.has(fixed)) {
                throw NetworkErrors.invalid(fixed + " cannot be updated.");
            }
        }
        var n = net.updateNetwork(r.auth(), r.param("id"), str(o, "name"), str(o, "description"), bool(o, "admin_state_up"),
                bool(o, "shared"), bool(o, "router:external"), integer(o, "mtu"), bool(o, "port_security_enabled"));
        return Reply.ok(Map.of("network", networkView(n.id(), r.auth())));
    }

    // ---- subnets -------------------------------------------------------------------------------

    private Reply createSubnet(ApiRequest r) {
        JsonNode o = resource(r, "subnet", SUBNET_KEYS);
        if (o.hasNonNull("subnetpool_id") || Boolean.TRUE.equals(bool(o, "use_default_subnetpool")) || o.hasNonNull("prefixlen")) {
            throw NetworkErrors.invalid("subnet pools are not supported; give a cidr.");
        }
        var req = new NetworkService.SubnetRequest(str(o, "network_id"), str(o, "name"), str(o, "description"), integer(o, "ip_version"),
                str(o, "cidr"), o.has("gateway_ip"), str(o, "gateway_ip"), pools(o), strings(o, "dns_nameservers"), routes(o),
                bool(o, "enable_dhcp"), project(r.auth(), o));
        return Reply.json(201, Map.of("subnet", NetworkViews.subnet(net.createSubnet(r.auth(), req))));
    }

    private Reply updateSubnet(ApiRequest r) {
        JsonNode o = resource(r, "subnet", SUBNET_KEYS);
        for (String fixed : List.of("network_id", "cidr", "ip_version", "tenant_id", "project_id")) {
            if (o.has(fixed)) {
                throw NetworkErrors.invalid(fixed + " cannot be updated.");
            }
        }
        var s = net.updateSubnet(r.auth(), r.param("id"), str(o, "name"), str(o, "description"), o.has("gateway_ip"),
                str(o, "gateway_ip"), strings(o, "dns_nameservers"), routes(o), bool(o, "enable_dhcp"), pools(o));
        return Reply.ok(Map.of("subnet", NetworkViews.subnet(s)));
    }

    // ---- ports ---------------------------------------------------------------------------------

    private Reply createPort(ApiRequest r) {
        JsonNode o = resource(r, "port", PORT_KEYS);
        vnicType(o);
        var req = new PortService.PortRequest(str(o, "network_id"), str(o, "name"), str(o, "description"), bool(o, "admin_state_up"),
                str(o, "mac_address"), fixedIps(o), str(o, "device_owner"), str(o, "device_id"), strings(o, "security_groups"),
                bool(o, "port_security_enabled"), pairs(o), str(o, "binding:host_id"), project(r.auth(), o));
        return Reply.json(201, Map.of("port", NetworkViews.port(net.ports().createPort(r.auth(), req), r.auth())));
    }

    private static void vnicType(JsonNode o) {
        String vnic = str(o, "binding:vnic_type");
        if (vnic != null && !vnic.equals("normal")) {
            throw NetworkErrors.invalid("binding:vnic_type " + vnic + " is not supported (normal only).");
        }
    }

    private Reply updatePort(ApiRequest r) {
        JsonNode o = resource(r, "port", PORT_KEYS);
        vnicType(o);
        if (o.has("network_id") || o.has("tenant_id") || o.has("project_id")) {
            throw NetworkErrors.invalid("network_id and project_id of a port cannot be updated.");
        }
        var u = new PortService.PortUpdate(str(o, "name"), str(o, "description"), bool(o, "admin_state_up"),
                strings(o, "security_groups"), bool(o, "port_security_enabled"), pairs(o), fixedIps(o), str(o, "device_owner"),
                str(o, "device_id"), str(o, "mac_address"), str(o, "binding:host_id"));
        return Reply.ok(Map.of("port", NetworkViews.port(net.ports().updatePort(r.auth(), r.param("id"), u), r.auth())));
    }

    // ---- security groups -----------------------------------------------------------------------

    private Reply createGroup(ApiRequest r) {
        JsonNode o = resource(r, "security_group", GROUP_KEYS);
        NeutronBody.callersProject(r.auth(), o, "security group");
        var sg = groups.create(r.auth(), str(o, "name"), str(o, "description"), bool(o, "stateful"));
        return Reply.json(201, Map.of("security_group", NetworkViews.securityGroup(sg, groups.rulesOf(sg.id()))));
    }

    private Reply updateGroup(ApiRequest r) {
        JsonNode o = resource(r, "security_group", GROUP_KEYS);
        if (o.has("stateful")) {
            throw NetworkErrors.invalid("stateful cannot be changed after creation.");
        }
        var sg = groups.update(r.auth(), r.param("id"), str(o, "name"), str(o, "description"));
        return Reply.ok(Map.of("security_group", NetworkViews.securityGroup(sg, groups.rulesOf(sg.id()))));
    }

    private Reply createRule(ApiRequest r) {
        JsonNode o = resource(r, "security_group_rule", RULE_KEYS);
        NeutronBody.callersProject(r.auth(), o, "security group rule");
        if (o.hasNonNull("remote_address_group_id")) {
            throw NetworkErrors.invalid("address groups are not supported.");
        }
        JsonNode proto = o.get("protocol");
        String protocol = proto == null || proto.isNull() ? null : proto.isIntegralNumber() ? proto.asText() : str(o, "protocol");
        var req = new SecurityGroupService.RuleRequest(str(o, "security_group_id"), str(o, "direction"), str(o, "ethertype"), protocol,
                integer(o, "port_range_min"), integer(o, "port_range_max"), str(o, "remote_ip_prefix"), str(o, "remote_group_id"),
                str(o, "description"));
        return Reply.json(201, Map.of("security_group_rule", NetworkViews.rule(groups.createRule(r.auth(), req))));
    }

    // ---- routers and floating IPs --------------------------------------------------------------

    private record Gateway(boolean given, String networkId, Boolean snat) {
    }

    private static Gateway gateway(JsonNode o) {
        if (!o.has("external_gateway_info")) {
            return new Gateway(false, null, null);
        }
        JsonNode g = o.get("external_gateway_info");
        if (g.isNull() || (g.isObject() && g.isEmpty())) {
            return new Gateway(true, null, null);
        }
        if (!g.isObject()) {
            throw NetworkErrors.invalid("external_gateway_info must be a dictionary.");
        }
        if (g.hasNonNull("external_fixed_ips")) {
            throw NetworkErrors.invalid("choosing external_fixed_ips is not supported; the gateway takes an address from the pool.");
        }
        String network = str(g, "network_id");
        if (network == null) {
            throw NetworkErrors.invalid("external_gateway_info needs a network_id.");
        }
        return new Gateway(true, network, bool(g, "enable_snat"));
    }

    private Reply createRouter(ApiRequest r) {
        JsonNode o = resource(r, "router", ROUTER_KEYS);
        NeutronBody.callersProject(r.auth(), o, "router");
        noExtras(o);
        Gateway gw = gateway(o);
        var x = routers.create(r.auth(), str(o, "name"), str(o, "description"), bool(o, "admin_state_up"), gw.networkId(), gw.snat());
        return Reply.json(201, Map.of("router", NetworkViews.router(x, routers.gatewayPort(x.id()))));
    }

    private static void noExtras(JsonNode o) {
        if (Boolean.TRUE.equals(bool(o, "distributed")) || Boolean.TRUE.equals(bool(o, "ha"))) {
            throw NetworkErrors.invalid("distributed and ha routers are not offered: every OVN router is already distributed and highly "
                    + "available.");
        }
        JsonNode routes = o.get("routes");
        if (routes != null && !routes.isNull() && (!routes.isArray() || !routes.isEmpty())) {
            throw NetworkErrors.invalid("extra routes are not supported.");
        }
    }

    private Reply updateRouter(ApiRequest r) {
        JsonNode o = resource(r, "router", ROUTER_KEYS);
        noExtras(o);
        Gateway gw = gateway(o);
        String id = r.param("id");
        if (o.has("name") || o.has("description") || o.has("admin_state_up")) {
            routers.update(r.auth(), id, str(o, "name"), str(o, "description"), bool(o, "admin_state_up"));
        }
        if (gw.given()) {
            routers.setGateway(r.auth(), id, gw.networkId(), gw.snat() == null || gw.snat());
        }
        var x = routers.visible(r.auth(), id).value();
        return Reply.ok(Map.of("router", NetworkViews.router(x, routers.gatewayPort(id))));
    }

    private Reply routerInterface(ApiRequest r, boolean add) {
        JsonNode o = r.json();
        if (o == null || !o.isObject()) {
            throw ApiException.badRequest("Resource body required");
        }
        String subnet = str(o, "subnet_id");
        String port = str(o, "port_id");
        if ((subnet == null) == (port == null)) {
            throw ApiException.badRequest("Bad router request: Either subnet_id or port_id must be specified, not both.");
        }
        var i = add ? routers.addInterface(r.auth(), r.param("id"), subnet, port)
                : routers.removeInterface(r.auth(), r.param("id"), subnet, port);
        return Reply.ok(NetworkViews.routerInterface(i));
    }

    private Reply createFloatingIp(ApiRequest r) {
        JsonNode o = resource(r, "floatingip", FIP_KEYS);
        NeutronBody.callersProject(r.auth(), o, "floating IP");
        if (o.hasNonNull("subnet_id")) {
            throw NetworkErrors.invalid("choosing the subnet of a floating IP is not supported.");
        }
        String network = str(o, "floating_network_id");
        if (network == null) {
            throw ApiException.badRequest("Failed to parse request. Required attribute 'floating_network_id' not specified");
        }
        var f = routers.createFloatingIp(r.auth(), network, str(o, "floating_ip_address"), str(o, "port_id"), str(o, "fixed_ip_address"),
                str(o, "description"));
        return Reply.json(201, Map.of("floatingip", NetworkViews.floatingIp(f)));
    }

    private Reply updateFloatingIp(ApiRequest r) {
        JsonNode o = resource(r, "floatingip", Set.of("port_id", "fixed_ip_address", "description"));
        var f = routers.updateFloatingIp(r.auth(), r.param("id"), o.has("port_id"), str(o, "port_id"), str(o, "fixed_ip_address"),
                str(o, "description"));
        return Reply.ok(Map.of("floatingip", NetworkViews.floatingIp(f)));
    }

    // ---- quotas --------------------------------------------------------------------------------

    private String quotaTarget(ApiRequest r, boolean update) {
        String target = r.param("project");
        AuthContext ctx = r.auth();
        if (update) {
            Policy.requireAdmin(ctx, "update_quota");
        } else if (!ctx.isAdmin() && !target.equals(ctx.projectId())) {
            throw NetworkErrors.forbidden("get_quota");
        }
        res.sync();
        if (!projectExists.test(target)) {
            throw ApiException.notFound("Project " + target + " could not be found.");
        }
        return target;
    }

    private Reply updateQuota(ApiRequest r) {
        String target = quotaTarget(r, true);
        JsonNode o = resource(r, "quota", Set.of("network", "subnet", "port", "router", "floatingip", "security_group",
                "security_group_rule", "check_limit", "force"));
        NetworkQuota cur = quotas.of(target);
        var used = quotas.usage(target);
        boolean check = Boolean.TRUE.equals(bool(o, "check_limit"));
        var next = new NetworkQuota(limit(o, "network", cur.network(), used, check), limit(o, "subnet", cur.subnet(), used, check),
                limit(o, "port", cur.port(), used, check), limit(o, "router", cur.router(), used, check),
                limit(o, "floatingip", cur.floatingip(), used, check), limit(o, "security_group", cur.securityGroup(), used, check),
                limit(o, "security_group_rule", cur.securityGroupRule(), used, check));
        var repo = res.repo(Kinds.NETWORK_QUOTAS);
        var existing = res.networkQuotas().get(target);
        try {
            long rev = existing.isPresent() ? repo.update(new NetworkQuotaRecord(target, next), existing.get().revision())
                    : repo.create(new NetworkQuotaRecord(target, next));
            res.awaitRevision(rev);
        } catch (ConflictException e) {
            throw ApiException.conflict("Quota for project " + target + " changed concurrently; retry.");
        }
        return Reply.ok(Map.of("quota", NetworkQuotas.view(next)));
    }

    private static int limit(JsonNode o, String key, int current, Map<String, Integer> used, boolean check) {
        Integer v = integer(o, key);
        if (v == null) {
            return current;
        }
        if (v < -1) {
            throw NetworkErrors.invalid("quota " + key + " must be -1 (unlimited) or more, not " + v + ".");
        }
        if (check && v >= 0 && v < used.get(key)) {
            throw ApiException.badRequest("Quota limit " + v + " for " + key + " must be greater than or equal to already used "
                    + used.get(key) + ".").withType("InvalidQuotaValue");
        }
        return v;
    }
}
