package io.halcyon.controller.ovn;

import io.halcyon.model.network.FloatingIp;
import io.halcyon.model.network.Ipv4;
import io.halcyon.model.network.Network;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.Router;
import io.halcyon.model.network.SecurityGroup;
import io.halcyon.model.network.SecurityGroupRule;
import io.halcyon.model.network.Subnet;
import io.halcyon.ovsdb.DesiredRow;
import io.halcyon.ovsdb.RowSync;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Neutron's model as OVN's northbound rows, the translation OpenStack's own OVN driver makes:
 * a logical switch per network (with a localnet port for provider networks), a logical switch port
 * per port (its MAC and addresses, port security, DHCP options, the host it must be bound on), DHCP
 * options per subnet, a port group per security group with one ACL per rule plus a drop-by-default
 * group every secured port is in, and a logical router per router with its interfaces, gateway
 * port, default route, SNAT and floating IPs. A pure function, so it is tested and measured alone.
 */
public final class OvnModel {
    public static final String DB = "OVN_Northbound";
    public static final String DROP_GROUP = "neutron_pg_drop";
    static final long PRIORITY_ALLOW = 1002;
    static final long PRIORITY_DROP = 1001;

    public static final List<RowSync.Table> TABLES = List.of(
            new RowSync.Table("Logical_Switch", true, List.of("name", "ports", "other_config")),
            new RowSync.Table("Logical_Switch_Port", false, List.of("name", "type", "addresses", "port_security", "enabled",
                    "dhcpv4_options", "options", "tag")),
            new RowSync.Table("DHCP_Options", true, List.of("cidr", "options")),
            new RowSync.Table("Port_Group", true, List.of("name", "ports", "acls")),
            new RowSync.Table("ACL", false, List.of("priority", "direction", "match", "action")),
            new RowSync.Table("Logical_Router", true, List.of("name", "ports", "static_routes", "nat", "enabled")),
            new RowSync.Table("Logical_Router_Port", false, List.of("name", "mac", "networks", "gateway_chassis", "enabled")),
            new RowSync.Table("Gateway_Chassis", false, List.of("name", "chassis_name", "priority")),
            new RowSync.Table("NAT", false, List.of("type", "external_ip", "logical_ip")),
            new RowSync.Table("Logical_Router_Static_Route", false, List.of("ip_prefix", "nexthop")));

    /** What the translation reads: the networking records, where each server runs, and the hosts that may carry gateways. */
    public record State(List<Network> networks, List<Subnet> subnets, List<Port> ports, List<SecurityGroup> groups,
                        List<SecurityGroupRule> rules, List<Router> routers, List<FloatingIp> floatingIps,
                        Map<String, String> serverHosts, List<String> gatewayHosts) {
    }

    private OvnModel() {
    }

    public static String switchName(String networkId) {
        return "neutron-" + networkId;
    }

    public static String routerName(String routerId) {
        return "neutron-" + routerId;
    }

    public static String routerPortName(String portId) {
        return "lrp-" + portId;
    }

    public static String groupName(String groupId) {
        return "pg_" + groupId.replace('-', '_');
    }

    public static List<DesiredRow> rows(State s) {
        var out = new ArrayList<DesiredRow>();
        Map<String, Network> networks = new HashMap<>();
        s.networks().forEach(n -> networks.put(n.id(), n));
        Map<String, Subnet> subnets = new HashMap<>();
        s.subnets().forEach(x -> subnets.put(x.id(), x));
        Set<String> groupIds = new java.util.HashSet<>();
        s.groups().forEach(g -> groupIds.add(g.id()));

        // DHCP options per subnet
        for (Subnet sub : sorted(s.subnets(), Subnet::id)) {
            Network n = networks.get(sub.networkId());
            if (n == null || !sub.enableDhcp()) {
                continue;
            }
            out.add(new DesiredRow("DHCP_Options", "dhcp:" + sub.id()).str("cidr", sub.cidr()).map("options", dhcpOptions(sub, n)));
        }

        // switch ports, grouped per network; port group membership
        Map<String, List<String>> portsByNetwork = new TreeMap<>();
        Map<String, List<String>> membersByGroup = new TreeMap<>();
        var secured = new ArrayList<String>();
        for (Port p : sorted(s.ports(), Port::id)) {
            Network n = networks.get(p.networkId());
            if (n == null || Port.OWNER_FLOATING_IP.equals(p.deviceOwner())) {
                continue; // a floating IP's port only holds its address: NAT on the router carries it
            }
            String key = "lsp:" + p.id();
            DesiredRow row = new DesiredRow("Logical_Switch_Port", key).str("name", p.id()).bool("enabled", p.adminStateUp())
                    .integer("tag", null);
            boolean routerPort = Port.OWNER_ROUTER_INTERFACE.equals(p.deviceOwner()) || Port.OWNER_ROUTER_GATEWAY.equals(p.deviceOwner());
            if (routerPort) {
                row.str("type", "router").strings("addresses", List.of("router")).strings("port_security", List.of())
                        .ref("dhcpv4_options", null).map("options", Map.of("router-port", routerPortName(p.id())));
            } else {
                String addr = addressLine(p.macAddress(), p.fixedIps());
                var addresses = new ArrayList<String>(List.of(addr));
                var security = new ArrayList<String>();
                if (p.portSecurityEnabled()) {
                    security.add(addr);
                    for (Port.AddressPair ap : p.allowedAddressPairs()) {
                        security.add((ap.macAddress() == null ? p.macAddress() : ap.macAddress()) + " " + ap.ipAddress());
                    }
                    secured.add(key);
                    for (String g : p.securityGroups()) {
                        if (groupIds.contains(g)) {
                            membersByGroup.computeIfAbsent(g, k -> new ArrayList<>()).add(key);
                        }
                    }
                } else {
                    addresses.add("unknown");
                }
                var options = new TreeMap<String, String>();
                String host = Port.OWNER_COMPUTE.equals(p.deviceOwner()) ? s.serverHosts().get(p.deviceId()) : null;
                if (host == null && !p.hostId().isEmpty()) {
                    host = p.hostId();
                }
                if (host != null) {
                    // only this chassis may claim the port: a host back from the dead cannot steal it
                    options.put("requested-chassis", host);
                }
                String dhcp = null;
                for (Port.FixedIp f : p.fixedIps()) {
                    Subnet sub = subnets.get(f.subnetId());
                    if (sub != null && sub.enableDhcp()) {
                        dhcp = "dhcp:" + sub.id();
                        break;
                    }
                }
                row.str("type", "").strings("addresses", addresses).strings("port_security", security).ref("dhcpv4_options", dhcp)
                        .map("options", options);
            }
            row.map("external_ids", Map.of("neutron:device_owner", p.deviceOwner(), "neutron:device_id", p.deviceId()));
            out.add(row);
            portsByNetwork.computeIfAbsent(p.networkId(), k -> new ArrayList<>()).add(key);
        }

        // switches, with a localnet port for provider networks
        for (Network n : sorted(s.networks(), Network::id)) {
            var ports = new ArrayList<>(portsByNetwork.getOrDefault(n.id(), List.of()));
            if (n.provider()) {
                String key = "lsp:provnet:" + n.id();
                out.add(new DesiredRow("Logical_Switch_Port", key).str("name", "provnet-" + n.id()).str("type", "localnet")
                        .strings("addresses", List.of("unknown")).strings("port_security", List.of()).bool("enabled", true)
                        .ref("dhcpv4_options", null).map("options", Map.of("network_name", n.physicalNetwork()))
                        .integer("tag", Network.VLAN.equals(n.networkType()) && n.segmentationId() != null ? (long) n.segmentationId() : null));
                ports.add(key);
            }
            out.add(new DesiredRow("Logical_Switch", "ls:" + n.id()).str("name", switchName(n.id())).refs("ports", ports)
                    .map("other_config", Map.of()).map("external_ids", Map.of("neutron:network_name", n.name())));
        }

        // security groups: one port group each, one ACL per rule; and the drop-by-default group
        Map<String, List<SecurityGroupRule>> rulesByGroup = new TreeMap<>();
        for (SecurityGroupRule r : sorted(s.rules(), SecurityGroupRule::id)) {
            rulesByGroup.computeIfAbsent(r.securityGroupId(), k -> new ArrayList<>()).add(r);
        }
        for (SecurityGroup g : sorted(s.groups(), SecurityGroup::id)) {
            var acls = new ArrayList<String>();
            for (SecurityGroupRule r : rulesByGroup.getOrDefault(g.id(), List.of())) {
                String match = aclMatch(g.id(), r, groupIds);
                if (match == null) {
                    continue;
                }
                String key = "acl:" + r.id();
                out.add(new DesiredRow("ACL", key).integer("priority", PRIORITY_ALLOW)
                        .str("direction", SecurityGroupRule.INGRESS.equals(r.direction()) ? "to-lport" : "from-lport")
                        .str("match", match).str("action", g.stateful() ? "allow-related" : "allow-stateless")
                        .map("external_ids", Map.of("neutron:security_group_rule_id", r.id())));
                acls.add(key);
            }
            out.add(new DesiredRow("Port_Group", "pg:" + g.id()).str("name", groupName(g.id()))
                    .refs("ports", membersByGroup.getOrDefault(g.id(), List.of())).refs("acls", acls)
                    .map("external_ids", Map.of("neutron:security_group_id", g.id())));
        }
        out.add(new DesiredRow("ACL", "acl:drop:in").integer("priority", PRIORITY_DROP).str("direction", "to-lport")
                .str("match", "outport == @" + DROP_GROUP + " && ip").str("action", "drop"));
        out.add(new DesiredRow("ACL", "acl:drop:out").integer("priority", PRIORITY_DROP).str("direction", "from-lport")
                .str("match", "inport == @" + DROP_GROUP + " && ip").str("action", "drop"));
        // a guest must reach OVN's DHCP even in a group that allows no egress
        out.add(new DesiredRow("ACL", "acl:dhcp").integer("priority", PRIORITY_ALLOW).str("direction", "from-lport")
                .str("match", "inport == @" + DROP_GROUP + " && ip4 && udp && udp.src == 68 && udp.dst == 67").str("action", "allow"));
        out.add(new DesiredRow("Port_Group", "pg:drop").str("name", DROP_GROUP).refs("ports", secured)
                .refs("acls", List.of("acl:drop:in", "acl:drop:out", "acl:dhcp")));

        routers(s, networks, subnets, out);
        return out;
    }

    private static void routers(State s, Map<String, Network> networks, Map<String, Subnet> subnets, List<DesiredRow> out) {
        Map<String, List<Port>> portsByRouter = new TreeMap<>();
        for (Port p : sorted(s.ports(), Port::id)) {
            if ((Port.OWNER_ROUTER_INTERFACE.equals(p.deviceOwner()) || Port.OWNER_ROUTER_GATEWAY.equals(p.deviceOwner()))
                    && networks.containsKey(p.networkId())) {
                portsByRouter.computeIfAbsent(p.deviceId(), k -> new ArrayList<>()).add(p);
            }
        }
        Map<String, List<FloatingIp>> fipsByRouter = new TreeMap<>();
        for (FloatingIp f : sorted(s.floatingIps(), FloatingIp::id)) {
            if (f.routerId() != null && f.fixedIpAddress() != null) {
                fipsByRouter.computeIfAbsent(f.routerId(), k -> new ArrayList<>()).add(f);
            }
        }
        for (Router r : sorted(s.routers(), Router::id)) {
            var lrps = new ArrayList<String>();
            var nats = new ArrayList<String>();
            var routes = new ArrayList<String>();
            String gatewayIp = null;
            var internalCidrs = new ArrayList<String>();
            for (Port p : portsByRouter.getOrDefault(r.id(), List.of())) {
                var cidrs = new ArrayList<String>();
                for (Port.FixedIp f : p.fixedIps()) {
                    Subnet sub = subnets.get(f.subnetId());
                    if (sub != null) {
                        cidrs.add(f.ipAddress() + "/" + Ipv4.Cidr.parse(sub.cidr(), false).prefix());
                    }
                }
                if (cidrs.isEmpty()) {
                    continue;
                }
                String key = "lrp:" + p.id();
                var lrp = new DesiredRow("Logical_Router_Port", key).str("name", routerPortName(p.id())).str("mac", p.macAddress())
                        .strings("networks", cidrs).bool("enabled", p.adminStateUp());
                if (Port.OWNER_ROUTER_GATEWAY.equals(p.deviceOwner())) {
                    var chassis = new ArrayList<String>();
                    long priority = s.gatewayHosts().size();
                    for (String host : s.gatewayHosts()) {
                        String ck = "gwc:" + p.id() + ":" + host;
                        out.add(new DesiredRow("Gateway_Chassis", ck).str("name", routerPortName(p.id()) + "_" + host)
                                .str("chassis_name", host).integer("priority", priority--));
                        chassis.add(ck);
                    }
                    lrp.refs("gateway_chassis", chassis);
                    Port.FixedIp gw = p.fixedIps().get(0);
                    gatewayIp = gw.ipAddress();
                    Subnet ext = subnets.get(gw.subnetId());
                    if (ext != null && ext.gatewayIp() != null) {
                        String rk = "route:" + r.id() + ":default";
                        out.add(new DesiredRow("Logical_Router_Static_Route", rk).str("ip_prefix", "0.0.0.0/0").str("nexthop", ext.gatewayIp()));
                        routes.add(rk);
                    }
                } else {
                    lrp.refs("gateway_chassis", List.of());
                    for (Port.FixedIp f : p.fixedIps()) {
                        Subnet sub = subnets.get(f.subnetId());
                        if (sub != null) {
                            internalCidrs.add(sub.cidr());
                        }
                    }
                }
                out.add(lrp);
                lrps.add(key);
            }
            if (gatewayIp != null && r.enableSnat()) {
                for (String cidr : internalCidrs) {
                    String nk = "nat:snat:" + r.id() + ":" + cidr;
                    out.add(new DesiredRow("NAT", nk).str("type", "snat").str("external_ip", gatewayIp).str("logical_ip", cidr));
                    nats.add(nk);
                }
            }
            if (gatewayIp != null) {
                for (FloatingIp f : fipsByRouter.getOrDefault(r.id(), List.of())) {
                    String nk = "nat:fip:" + f.id();
                    out.add(new DesiredRow("NAT", nk).str("type", "dnat_and_snat").str("external_ip", f.floatingIpAddress())
                            .str("logical_ip", f.fixedIpAddress()).map("external_ids", Map.of("neutron:fip_id", f.id())));
                    nats.add(nk);
                }
            }
            out.add(new DesiredRow("Logical_Router", "lr:" + r.id()).str("name", routerName(r.id())).refs("ports", lrps)
                    .refs("static_routes", routes).refs("nat", nats).bool("enabled", r.adminStateUp())
                    .map("external_ids", Map.of("neutron:router_name", r.name())));
        }
    }

    static String addressLine(String mac, List<Port.FixedIp> ips) {
        var sb = new StringBuilder(mac);
        ips.forEach(f -> sb.append(' ').append(f.ipAddress()));
        return sb.toString();
    }

    static Map<String, String> dhcpOptions(Subnet sub, Network n) {
        Ipv4.Cidr cidr = Ipv4.Cidr.parse(sub.cidr(), false);
        var o = new LinkedHashMap<String, String>();
        o.put("lease_time", "43200");
        o.put("mtu", Integer.toString(n.mtu()));
        String server = sub.gatewayIp() != null ? sub.gatewayIp() : Ipv4.format(cidr.firstHost());
        o.put("server_id", server);
        o.put("server_mac", serverMac(sub.id()));
        if (sub.gatewayIp() != null) {
            o.put("router", sub.gatewayIp());
        }
        if (!sub.dnsNameservers().isEmpty()) {
            o.put("dns_server", "{" + String.join(", ", sub.dnsNameservers()) + "}");
        }
        if (!sub.hostRoutes().isEmpty()) {
            // clients that take classless routes ignore the router option, so the default route goes in too
            var routes = new ArrayList<String>();
            sub.hostRoutes().forEach(h -> routes.add(h.destination() + "," + h.nexthop()));
            if (sub.gatewayIp() != null) {
                routes.add("0.0.0.0/0," + sub.gatewayIp());
            }
            o.put("classless_static_route", "{" + String.join(", ", routes) + "}");
        }
        return o;
    }

    /** A stable locally administered MAC for the subnet's DHCP server. */
    static String serverMac(String subnetId) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(subnetId.getBytes(StandardCharsets.UTF_8));
            return String.format("fa:16:3e:%02x:%02x:%02x", h[0] & 0xff, h[1] & 0xff, h[2] & 0xff);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The ACL match of one rule, or null for a rule OVN cannot express (an ethertype that is neither IPv4 nor IPv6). */
    static String aclMatch(String groupId, SecurityGroupRule r, Set<String> groups) {
        boolean ingress = SecurityGroupRule.INGRESS.equals(r.direction());
        String ip;
        if ("IPv4".equals(r.ethertype())) {
            ip = "ip4";
        } else if ("IPv6".equals(r.ethertype())) {
            ip = "ip6";
        } else {
            return null;
        }
        var m = new StringBuilder(ingress ? "outport == @" : "inport == @").append(groupName(groupId)).append(" && ").append(ip);
        String remote = ingress ? ".src" : ".dst";
        if (r.remoteIpPrefix() != null && !r.remoteIpPrefix().endsWith("/0")) {
            m.append(" && ").append(ip).append(remote).append(" == ").append(r.remoteIpPrefix());
        }
        if (r.remoteGroupId() != null) {
            if (!groups.contains(r.remoteGroupId())) {
                return null;
            }
            // northd keeps an address set of every port group's addresses
            m.append(" && ").append(ip).append(remote).append(" == $").append(groupName(r.remoteGroupId())).append('_').append(ip);
        }
        String proto = r.protocol();
        if (proto != null && !proto.equalsIgnoreCase("any")) {
            switch (proto.toLowerCase()) {
                case "tcp", "6" -> ports(m, "tcp", r);
                case "udp", "17" -> ports(m, "udp", r);
                case "sctp", "132" -> ports(m, "sctp", r);
                case "icmp", "1", "ipv6-icmp", "icmpv6", "58" -> {
                    String icmp = ip.equals("ip4") ? "icmp4" : "icmp6";
                    m.append(" && ").append(icmp);
                    if (r.portRangeMin() != null) {
                        m.append(" && ").append(icmp).append(".type == ").append(r.portRangeMin());
                        if (r.portRangeMax() != null) {
                            m.append(" && ").append(icmp).append(".code == ").append(r.portRangeMax());
                        }
                    }
                }
                default -> m.append(" && ip.proto == ").append(proto);
            }
        }
        return m.toString();
    }

    private static void ports(StringBuilder m, String proto, SecurityGroupRule r) {
        m.append(" && ").append(proto);
        Integer min = r.portRangeMin();
        Integer max = r.portRangeMax();
        if (min == null && max == null) {
            return;
        }
        if (min != null && (max == null || min.equals(max))) {
            m.append(" && ").append(proto).append(".dst == ").append(min);
        } else {
            m.append(" && ").append(proto).append(".dst >= ").append(min == null ? 1 : min).append(" && ").append(proto)
                    .append(".dst <= ").append(max);
        }
    }

    private static <T> List<T> sorted(List<T> items, java.util.function.Function<T, String> id) {
        var copy = new ArrayList<>(items);
        copy.sort(Comparator.comparing(id));
        return copy;
    }
}
