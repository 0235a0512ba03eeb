package io.halcyon.ovsdb;

import io.halcyon.testkit.OvnCentral;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The row converger against a real OVN northbound database (ovsdb-server), checked with ovn-nbctl. */
class RowSyncIT {
    static OvnCentral ovn;
    static OvsdbClient client;
    static RowSync sync;

    @BeforeAll
    static void start() throws Exception {
        ovn = OvnCentral.start("127.0.0.1");
        client = OvsdbClient.connect(ovn.nbTcp("127.0.0.1"));
        sync = new RowSync(client, "OVN_Northbound", List.of(
                new RowSync.Table("Logical_Switch", true, List.of("name", "ports", "acls")),
                new RowSync.Table("Logical_Switch_Port", false, List.of("name", "addresses", "port_security", "enabled", "dhcpv4_options")),
                new RowSync.Table("DHCP_Options", true, List.of("cidr", "options")),
                new RowSync.Table("Port_Group", true, List.of("name", "ports", "acls")),
                new RowSync.Table("ACL", false, List.of("priority", "direction", "match", "action"))), Duration.ofSeconds(10));
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (ovn != null) {
            ovn.close();
        }
    }

    static List<DesiredRow> desired(List<String> ports) {
        var rows = new ArrayList<DesiredRow>();
        rows.add(new DesiredRow("DHCP_Options", "dhcp:s1").str("cidr", "10.0.0.0/24")
                .map("options", Map.of("router", "10.0.0.1", "server_id", "10.0.0.1", "server_mac", "fa:16:3e:00:00:01",
                        "lease_time", "43200", "mtu", "1442")));
        var portKeys = new ArrayList<String>();
        for (String p : ports) {
            rows.add(new DesiredRow("Logical_Switch_Port", "lsp:" + p).str("name", p)
                    .strings("addresses", List.of("fa:16:3e:00:00:0" + p.length() + " 10.0.0." + (10 + p.length())))
                    .strings("port_security", List.of()).bool("enabled", true).ref("dhcpv4_options", "dhcp:s1"));
            portKeys.add("lsp:" + p);
        }
        rows.add(new DesiredRow("Logical_Switch", "ls:n1").str("name", "neutron-n1").refs("ports", portKeys).refs("acls", List.of())
                .map("external_ids", Map.of("neutron:network_name", "n1")));
        rows.add(new DesiredRow("ACL", "acl:r1").integer("priority", 1002L).str("direction", "to-lport")
                .str("match", "outport == @pg_sg1 && ip4 && tcp.dst == 80").str("action", "allow-related"));
        rows.add(new DesiredRow("Port_Group", "pg:sg1").str("name", "pg_sg1").refs("ports", portKeys).refs("acls", List.of("acl:r1")));
        return rows;
    }

    @Test
    void convergesPutsBackWhatWasDroppedAndLeavesOthersAlone() {
        ovn.nbctl("ls-add", "by-hand").orThrow();
        RowSync.Result first = sync.sync(desired(List.of("a", "bb")));
        assertThat(first.inserted()).isEqualTo(6);
        assertThat(ovn.nbctl("--bare", "--columns=name", "list", "Logical_Switch_Port").stdout()).contains("a").contains("bb");
        assertThat(ovn.nbctl("acl-list", "pg_sg1").stdout()).contains("tcp.dst == 80");
        assertThat(ovn.nbctl("lsp-get-dhcpv4-options", "bb").stdout()).contains("10.0.0.0/24");
        assertThat(sync.sync(desired(List.of("a", "bb"))).changed()).isFalse();

        // dropped by hand: comes back
        ovn.nbctl("acl-del", "pg_sg1").orThrow();
        ovn.nbctl("lsp-del", "a").orThrow();
        RowSync.Result repair = sync.sync(desired(List.of("a", "bb")));
        assertThat(repair.changed()).isTrue();
        assertThat(ovn.nbctl("acl-list", "pg_sg1").stdout()).contains("tcp.dst == 80");
        assertThat(ovn.nbctl("lsp-list", "neutron-n1").stdout()).contains("(a)");
        assertThat(ovn.nbctl("--bare", "--columns=ports", "find", "Port_Group", "name=pg_sg1").stdout().trim().split("\\s+")).hasSize(2);

        // a port no longer wanted goes, with its place in the port group
        sync.sync(desired(List.of("bb")));
        assertThat(ovn.nbctl("lsp-list", "neutron-n1").stdout()).doesNotContain("(a)").contains("(bb)");

        // nothing wanted: ours go, the switch made by hand stays
        RowSync.Result gone = sync.sync(List.of());
        assertThat(gone.deleted()).isGreaterThanOrEqualTo(3);
        assertThat(ovn.nbctl("ls-list").stdout()).contains("by-hand").doesNotContain("neutron-n1");
        assertThat(ovn.nbctl("--bare", "--columns=_uuid", "list", "DHCP_Options").stdout()).isBlank();
        assertThat(ovn.nbctl("--bare", "--columns=_uuid", "list", "ACL").stdout()).isBlank();
    }

    @Test
    void aRefusedTransactionChangesNothing() {
        var bad = new ArrayList<>(desired(List.of("c")));
        bad.add(new DesiredRow("ACL", "acl:bad").integer("priority", 99_999L).str("direction", "to-lport").str("match", "ip4")
                .str("action", "drop"));
        bad.add(new DesiredRow("Port_Group", "pg:bad").str("name", "pg_bad").refs("ports", List.of()).refs("acls", List.of("acl:bad")));
        assertThatThrownBy(() -> sync.sync(bad)).isInstanceOf(OvsdbException.class).hasMessageContaining("constraint");
        assertThat(ovn.nbctl("ls-list").stdout()).doesNotContain("neutron-n1");
        sync.sync(List.of());
    }
}
