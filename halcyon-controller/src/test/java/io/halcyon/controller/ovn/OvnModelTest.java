package io.halcyon.controller.ovn;

import io.halcyon.model.network.Network;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.SecurityGroupRule;
import io.halcyon.model.network.Subnet;
import io.halcyon.ovsdb.DesiredRow;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class OvnModelTest {
    static final Instant T = Instant.parse("2026-01-01T00:00:00Z");
    static final String G = "11111111-2222-3333-4444-555555555555";
    static final String R = "99999999-2222-3333-4444-555555555555";

    static SecurityGroupRule rule(String dir, String ether, String proto, Integer min, Integer max, String prefix, String remote) {
        return new SecurityGroupRule("r1", "p", G, dir, ether, proto, min, max, prefix, remote, null, T, T);
    }

    @Test
    void rulesBecomeAclMatches() {
        String pg = "pg_11111111_2222_3333_4444_555555555555";
        assertThat(OvnModel.aclMatch(G, rule("ingress", "IPv4", "tcp", 80, 80, "0.0.0.0/0", null), Set.of(G)))
                .isEqualTo("outport == @" + pg + " && ip4 && tcp && tcp.dst == 80");
        assertThat(OvnModel.aclMatch(G, rule("ingress", "IPv4", "udp", 1000, 2000, "10.0.0.0/8", null), Set.of(G)))
                .isEqualTo("outport == @" + pg + " && ip4 && ip4.src == 10.0.0.0/8 && udp && udp.dst >= 1000 && udp.dst <= 2000");
        assertThat(OvnModel.aclMatch(G, rule("egress", "IPv4", null, null, null, null, null), Set.of(G)))
                .isEqualTo("inport == @" + pg + " && ip4");
        assertThat(OvnModel.aclMatch(G, rule("ingress", "IPv4", null, null, null, null, G), Set.of(G)))
                .isEqualTo("outport == @" + pg + " && ip4 && ip4.src == $" + pg + "_ip4");
        assertThat(OvnModel.aclMatch(G, rule("ingress", "IPv4", "icmp", 8, 0, null, null), Set.of(G)))
                .isEqualTo("outport == @" + pg + " && ip4 && icmp4 && icmp4.type == 8 && icmp4.code == 0");
        assertThat(OvnModel.aclMatch(G, rule("ingress", "IPv4", "47", null, null, null, null), Set.of(G)))
                .isEqualTo("outport == @" + pg + " && ip4 && ip.proto == 47");
        // a remote group that no longer exists admits nobody
        assertThat(OvnModel.aclMatch(G, rule("ingress", "IPv4", null, null, null, null, R), Set.of(G))).isNull();
    }

    @Test
    void portsCarryAddressesSecurityAndTheirHost() {
        var net = new Network("n", "p", "net", null, true, false, false, Network.GENEVE, null, 7, 1442, true, T, T, 0);
        var sub = new Subnet("s", "p", "n", "sub", null, 4, "10.0.0.0/24", "10.0.0.1", List.of(new Subnet.AllocationPool("10.0.0.2",
                "10.0.0.254")), List.of(), List.of(new Subnet.HostRoute("192.168.0.0/16", "10.0.0.254")), true, T, T, 0);
        var vm = new Port("port1", "p", "n", "", null, true, "fa:16:3e:00:00:01", List.of(new Port.FixedIp("s", "10.0.0.5")),
                Port.OWNER_COMPUTE, "server1", List.of(), true, List.of(new Port.AddressPair("10.0.0.100", null)), "", "DOWN", T, T, 0);
        var open = new Port("port2", "p", "n", "", null, true, "fa:16:3e:00:00:02", List.of(new Port.FixedIp("s", "10.0.0.6")),
                "", "", List.of(), false, List.of(), "", "DOWN", T, T, 0);
        var rows = OvnModel.rows(new OvnModel.State(List.of(net), List.of(sub), List.of(vm, open), List.of(), List.of(), List.of(),
                List.of(), Map.of("server1", "hostA"), List.of("hostA")));
        DesiredRow lsp = rows.stream().filter(r -> r.key().equals("lsp:port1")).findFirst().orElseThrow();
        assertThat(lsp.columns().get("addresses")).isEqualTo(List.of("fa:16:3e:00:00:01 10.0.0.5"));
        assertThat(lsp.columns().get("port_security")).isEqualTo(List.of("fa:16:3e:00:00:01 10.0.0.5", "fa:16:3e:00:00:01 10.0.0.100"));
        assertThat(lsp.columns().get("options")).isEqualTo(Map.of("requested-chassis", "hostA"));
        DesiredRow unsecured = rows.stream().filter(r -> r.key().equals("lsp:port2")).findFirst().orElseThrow();
        assertThat(unsecured.columns().get("addresses")).isEqualTo(List.of("fa:16:3e:00:00:02 10.0.0.6", "unknown"));
        assertThat(unsecured.columns().get("port_security")).isEqualTo(List.of());
        DesiredRow drop = rows.stream().filter(r -> r.key().equals("pg:drop")).findFirst().orElseThrow();
        assertThat(drop.columns().get("ports")).isEqualTo(List.of(new DesiredRow.Ref("lsp:port1")));
        Map<String, String> dhcp = OvnModel.dhcpOptions(sub, net);
        assertThat(dhcp).containsEntry("mtu", "1442").containsEntry("router", "10.0.0.1")
                .containsEntry("classless_static_route", "{192.168.0.0/16,10.0.0.254, 0.0.0.0/0,10.0.0.1}");
    }
}
