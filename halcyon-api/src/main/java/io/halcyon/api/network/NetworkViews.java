package io.halcyon.api.network;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.http.ApiJson;
import io.halcyon.model.network.FloatingIp;
import io.halcyon.model.network.Network;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.Router;
import io.halcyon.model.network.SecurityGroup;
import io.halcyon.model.network.SecurityGroupRule;
import io.halcyon.model.network.Subnet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Neutron's JSON for each resource, with the attributes its clients read. */
final class NetworkViews {
    private NetworkViews() {
    }

    private static void common(Map<String, Object> m, String project, String description, java.time.Instant created,
                               java.time.Instant updated, long revision) {
        m.put("tenant_id", project);
        m.put("project_id", project);
        m.put("description", description);
        m.put("tags", List.of());
        m.put("created_at", ApiJson.seconds(created));
        m.put("updated_at", ApiJson.seconds(updated));
        m.put("revision_number", revision);
    }

    static Map<String, Object> network(Network n, List<String> subnetIds, AuthContext ctx) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", n.id());
        m.put("name", n.name());
        m.put("admin_state_up", n.adminStateUp());
        m.put("status", "ACTIVE");
        m.put("subnets", subnetIds);
        m.put("shared", n.shared());
        m.put("router:external", n.external());
        m.put("mtu", n.mtu());
        m.put("port_security_enabled", n.portSecurityEnabled());
        if (ctx.isAdmin()) {
            m.put("provider:network_type", n.networkType());
            m.put("provider:physical_network", n.physicalNetwork());
            m.put("provider:segmentation_id", n.segmentationId());
        }
        m.put("availability_zone_hints", List.of());
        m.put("availability_zones", List.of("nova"));
        m.put("ipv4_address_scope", null);
        m.put("ipv6_address_scope", null);
        m.put("is_default", false);
        m.put("l2_adjacency", true);
        m.put("dns_domain", "");
        common(m, n.projectId(), n.description(), n.createdAt(), n.updatedAt(), n.revisionNumber());
        return m;
    }

    static Map<String, Object> subnet(Subnet s) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", s.id());
        m.put("name", s.name());
        m.put("network_id", s.networkId());
        m.put("ip_version", s.ipVersion());
        m.put("cidr", s.cidr());
        m.put("gateway_ip", s.gatewayIp());
        var pools = new ArrayList<Map<String, Object>>();
        s.allocationPools().forEach(p -> pools.add(Map.of("start", p.start(), "end", p.end())));
        m.put("allocation_pools", pools);
        m.put("dns_nameservers", s.dnsNameservers());
        var routes = new ArrayList<Map<String, Object>>();
        s.hostRoutes().forEach(r -> routes.add(Map.of("destination", r.destination(), "nexthop", r.nexthop())));
        m.put("host_routes", routes);
        m.put("enable_dhcp", s.enableDhcp());
        m.put("ipv6_ra_mode", null);
        m.put("ipv6_address_mode", null);
        m.put("subnetpool_id", null);
        m.put("service_types", List.of());
        m.put("dns_publish_fixed_ip", false);
        common(m, s.projectId(), s.description(), s.createdAt(), s.updatedAt(), s.revisionNumber());
        return m;
    }

    static Map<String, Object> port(Port p, AuthContext ctx) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", p.id());
        m.put("name", p.name());
        m.put("network_id", p.networkId());
        m.put("mac_address", p.macAddress());
        m.put("admin_state_up", p.adminStateUp());
        m.put("status", p.status());
        m.put("device_id", p.deviceId());
        m.put("device_owner", p.deviceOwner());
        var ips = new ArrayList<Map<String, Object>>();
        p.fixedIps().forEach(f -> ips.add(Map.of("subnet_id", f.subnetId(), "ip_address", f.ipAddress())));
        m.put("fixed_ips", ips);
        m.put("security_groups", p.securityGroups());
        m.put("port_security_enabled", p.portSecurityEnabled());
        var pairs = new ArrayList<Map<String, Object>>();
        p.allowedAddressPairs().forEach(a -> {
            var pm = new LinkedHashMap<String, Object>();
            pm.put("ip_address", a.ipAddress());
            pm.put("mac_address", a.macAddress() == null ? p.macAddress() : a.macAddress());
            pairs.add(pm);
        });
        m.put("allowed_address_pairs", pairs);
        if (ctx.isAdmin()) {
            m.put("binding:host_id", p.hostId());
            m.put("binding:profile", Map.of());
            m.put("binding:vif_details", p.hostId().isEmpty() ? Map.of() : Map.of("port_filter", true));
            m.put("binding:vif_type", p.hostId().isEmpty() ? "unbound" : "ovs");
        }
        m.put("binding:vnic_type", "normal");
        m.put("extra_dhcp_opts", List.of());
        m.put("dns_name", "");
        m.put("dns_assignment", List.of());
        common(m, p.projectId(), p.description(), p.createdAt(), p.updatedAt(), p.revisionNumber());
        return m;
    }

    static Map<String, Object> securityGroup(SecurityGroup g, List<SecurityGroupRule> rules) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", g.id());
        m.put("name", g.name());
        m.put("stateful", g.stateful());
        var rs = new ArrayList<Map<String, Object>>();
        rules.forEach(r -> rs.add(rule(r)));
        m.put("security_group_rules", rs);
        common(m, g.projectId(), g.description(), g.createdAt(), g.updatedAt(), g.revisionNumber());
        return m;
    }

    static Map<String, Object> rule(SecurityGroupRule r) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", r.id());
        m.put("security_group_id", r.securityGroupId());
        m.put("direction", r.direction());
        m.put("ethertype", r.ethertype());
        m.put("protocol", r.protocol());
        m.put("port_range_min", r.portRangeMin());
        m.put("port_range_max", r.portRangeMax());
        m.put("remote_ip_prefix", r.remoteIpPrefix());
        m.put("remote_group_id", r.remoteGroupId());
        m.put("remote_address_group_id", null);
        m.put("normalized_cidr", r.remoteIpPrefix());
        common(m, r.projectId(), r.description(), r.createdAt(), r.updatedAt(), 0);
        return m;
    }

    static Map<String, Object> router(Router r, Optional<Port> gateway) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", r.id());
        m.put("name", r.name());
        m.put("admin_state_up", r.adminStateUp());
        m.put("status", "ACTIVE");
        if (r.gatewayNetworkId() == null) {
            m.put("external_gateway_info", null);
        } else {
            var g = new LinkedHashMap<String, Object>();
            g.put("network_id", r.gatewayNetworkId());
            g.put("enable_snat", r.enableSnat());
            var ips = new ArrayList<Map<String, Object>>();
            gateway.ifPresent(p -> p.fixedIps().forEach(f -> ips.add(Map.of("subnet_id", f.subnetId(), "ip_address", f.ipAddress()))));
            g.put("external_fixed_ips", ips);
            m.put("external_gateway_info", g);
        }
        m.put("routes", List.of());
        m.put("distributed", false);
        m.put("ha", false);
        m.put("availability_zone_hints", List.of());
        m.put("availability_zones", List.of("nova"));
        m.put("flavor_id", null);
        common(m, r.projectId(), r.description(), r.createdAt(), r.updatedAt(), r.revisionNumber());
        return m;
    }

    static Map<String, Object> floatingIp(FloatingIp f) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", f.id());
        m.put("floating_ip_address", f.floatingIpAddress());
        m.put("floating_network_id", f.floatingNetworkId());
        m.put("router_id", f.routerId());
        m.put("port_id", f.portId());
        m.put("fixed_ip_address", f.fixedIpAddress());
        m.put("status", f.status());
        m.put("port_details", null);
        m.put("qos_policy_id", null);
        m.put("dns_domain", "");
        m.put("dns_name", "");
        common(m, f.projectId(), f.description(), f.createdAt(), f.updatedAt(), f.revisionNumber());
        return m;
    }

    static Map<String, Object> routerInterface(RouterService.Interface i) {
        var m = new LinkedHashMap<String, Object>();
        m.put("id", i.routerId());
        m.put("tenant_id", i.projectId());
        m.put("project_id", i.projectId());
        m.put("subnet_id", i.subnetId());
        m.put("subnet_ids", i.subnetId() == null ? List.of() : List.of(i.subnetId()));
        m.put("port_id", i.portId());
        m.put("network_id", i.networkId());
        m.put("tags", List.of());
        return m;
    }
}
