package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.OvnCentral;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The controller converging a real OVN northbound database (ovsdb-server with OVN's schema, and
 * ovn-northd) from what the networking API stores, checked with ovn-nbctl: switches, ports with
 * port security and DHCP, security groups as port groups and ACLs, routers with SNAT and floating
 * IPs, and rows dropped by hand coming back.
 */
class OvnNorthboundIT {
    static OvnCentral ovn;
    static TestCloud cloud;
    static ApiClient api;

    @BeforeAll
    static void up() throws Exception {
        ovn = OvnCentral.start("127.0.0.1");
        cloud = TestCloud.start("  network: {ovnNorthbound: \"" + ovn.nbUnix() + "\"}\n");
        api = new ApiClient(cloud.url()).login("admin", TestCloud.ADMIN_PASSWORD, "admin");
    }

    @AfterAll
    static void down() {
        if (cloud != null) {
            cloud.close();
        }
        if (ovn != null) {
            ovn.close();
        }
    }

    static JsonNode created(ApiClient.Response r, String key) {
        assertThat(r.status()).as(r.raw()).isEqualTo(201);
        return r.body().path(key);
    }

    static String nb(String... args) {
        return ovn.nbctl(args).orThrow().stdout();
    }

    static void eventually(Runnable check) {
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).untilAsserted(check::run);
    }

    @Test
    void theNorthboundFollowsTheStore() throws Exception {
        String net = created(api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "blue"))), "network").path("id").asText();
        String sub = created(api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net, "cidr", "10.5.0.0/24",
                "dns_nameservers", List.of("10.5.0.53")))), "subnet").path("id").asText();
        String sg = created(api.post("/network/v2.0/security-groups", Map.of("security_group", Map.of("name", "web"))), "security_group")
                .path("id").asText();
        String rule = created(api.post("/network/v2.0/security-group-rules", Map.of("security_group_rule", Map.of("security_group_id", sg,
                "direction", "ingress", "protocol", "tcp", "port_range_min", 80, "port_range_max", 80))), "security_group_rule")
                .path("id").asText();
        JsonNode port = created(api.post("/network/v2.0/ports", Map.of("port", Map.of("network_id", net, "security_groups", List.of(sg),
                "allowed_address_pairs", List.of(Map.of("ip_address", "10.5.0.99"))))), "port");
        String portId = port.path("id").asText();
        String mac = port.path("mac_address").asText();
        String ip = port.path("fixed_ips").get(0).path("ip_address").asText();
        String ls = "neutron-" + net;
        String pg = "pg_" + sg.replace('-', '_');

        eventually(() -> assertThat(nb("lsp-list", ls)).contains("(" + portId + ")"));
        assertThat(nb("lsp-get-addresses", portId).trim()).isEqualTo(mac + " " + ip);
        assertThat(nb("lsp-get-port-security", portId)).contains(mac + " " + ip).contains(mac + " 10.5.0.99");
        String dhcp = nb("lsp-get-dhcpv4-options", portId);
        assertThat(dhcp).contains("10.5.0.0/24");
        String dhcpId = dhcp.trim().split("\\s+")[0];
        assertThat(nb("dhcp-options-get-options", dhcpId)).contains("mtu=1442").contains("router=10.5.0.1")
                .contains("dns_server={10.5.0.53}");
        assertThat(nb("acl-list", pg)).contains("outport == @" + pg + " && ip4 && tcp && tcp.dst == 80").contains("allow-related");
        assertThat(nb("acl-list", "neutron_pg_drop")).contains("drop");
        assertThat(nb("--bare", "--columns=ports", "find", "Port_Group", "name=" + pg).trim()).isNotEmpty();

        // dropped by hand: put back
        nb("acl-del", pg);
        nb("lsp-del", portId);
        eventually(() -> {
            assertThat(nb("acl-list", pg)).contains("tcp.dst == 80");
            assertThat(nb("lsp-list", ls)).contains("(" + portId + ")");
        });

        // a rule and a port deleted through the API leave OVN
        assertThat(api.delete("/network/v2.0/security-group-rules/" + rule).status()).isEqualTo(204);
        eventually(() -> assertThat(nb("acl-list", pg)).doesNotContain("tcp.dst == 80"));

        // a router with a gateway on a flat provider network, SNAT, and a floating IP
        String ext = created(api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "public", "router:external", true,
                "provider:network_type", "flat", "provider:physical_network", "provider"))), "network").path("id").asText();
        created(api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", ext, "cidr", "172.24.9.0/24",
                "enable_dhcp", false))), "subnet");
        String router = created(api.post("/network/v2.0/routers", Map.of("router", Map.of("name", "r",
                "external_gateway_info", Map.of("network_id", ext)))), "router").path("id").asText();
        assertThat(api.put("/network/v2.0/routers/" + router + "/add_router_interface", Map.of("subnet_id", sub)).status()).isEqualTo(200);
        JsonNode fip = created(api.post("/network/v2.0/floatingips", Map.of("floatingip", Map.of("floating_network_id", ext,
                "port_id", portId))), "floatingip");
        String lr = "neutron-" + router;
        eventually(() -> {
            String nat = nb("lr-nat-list", lr);
            assertThat(nat).contains("snat").contains("10.5.0.0/24");
            assertThat(nat).contains("dnat_and_snat").contains(fip.path("floating_ip_address").asText()).contains(ip);
        });
        assertThat(nb("lr-route-list", lr)).contains("0.0.0.0/0").contains("172.24.9.1");
        assertThat(nb("lrp-list", lr)).hasLineCount(2);
        assertThat(nb("lsp-list", "neutron-" + ext)).contains("provnet-" + ext);
        assertThat(nb("lsp-get-type", "provnet-" + ext).trim()).isEqualTo("localnet");

        // the floating IP let go, the router gone: its rows go
        assertThat(api.put("/network/v2.0/floatingips/" + fip.path("id").asText(), Map.of("floatingip",
                java.util.Collections.singletonMap("port_id", null))).status()).isEqualTo(200);
        eventually(() -> assertThat(nb("lr-nat-list", lr)).doesNotContain("dnat_and_snat"));
        assertThat(api.delete("/network/v2.0/floatingips/" + fip.path("id").asText()).status()).isEqualTo(204);
        assertThat(api.put("/network/v2.0/routers/" + router + "/remove_router_interface", Map.of("subnet_id", sub)).status()).isEqualTo(200);
        assertThat(api.delete("/network/v2.0/routers/" + router).status()).isEqualTo(204);
        assertThat(api.delete("/network/v2.0/ports/" + portId).status()).isEqualTo(204);
        eventually(() -> {
            assertThat(nb("lr-list")).doesNotContain(lr);
            assertThat(nb("lsp-list", ls)).doesNotContain(portId);
        });
        assertThat(api.delete("/network/v2.0/networks/" + net).status()).isEqualTo(204);
        eventually(() -> assertThat(nb("ls-list")).doesNotContain(ls));
        assertThat(cloud.controller.ovn().orElseThrow().lastError()).isNull();
    }
}
