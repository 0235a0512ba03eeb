package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.OpenStackCli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;


import static io.halcyon.it.CliOutput.fails;
import static io.halcyon.it.CliOutput.json;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The networking API through Debian's real {@code openstack} CLI: networks, subnets, ports,
 * security groups and rules, routers, floating IPs, and servers booted on networks and ports with
 * NICs added and removed while they run.
 */
class NetworkCliE2EIT {
    private static TestCloud cloud;
    private static OpenStackCli admin;

    @BeforeAll
    static void up() throws Exception {
        cloud = TestCloud.startWithHost("h1");
        admin = cloud.adminCli();
    }

    @AfterAll
    static void down() {
        if (cloud != null) {
            cloud.close();
        }
    }

    @Test
    void networksSubnetsPortsGroupsRoutersFloatingIpsAndServers() {
        JsonNode net = json(admin.ok("network", "create", "net1", "-f", "json"));
        String netId = net.path("id").asText();
        assertThat(net.path("mtu").asInt()).isEqualTo(1442);
        assertThat(net.path("provider:network_type").asText()).isEqualTo("geneve");
        assertThat(admin.ok("network", "list", "-f", "value", "-c", "Name")).contains("net1");
        assertThat(json(admin.ok("network", "show", "net1", "-f", "json")).path("id").asText()).isEqualTo(netId);

        JsonNode sub = json(admin.ok("subnet", "create", "--network", "net1", "--subnet-range", "10.0.0.0/24",
                "--dns-nameserver", "10.0.0.53", "sub1", "-f", "json"));
        assertThat(sub.path("gateway_ip").asText()).isEqualTo("10.0.0.1");
        assertThat(sub.path("allocation_pools").toString()).contains("\"start\":\"10.0.0.2\"").contains("\"end\":\"10.0.0.254\"");
        assertThat(admin.ok("subnet", "list", "-f", "value", "-c", "Name", "-c", "Subnet")).contains("sub1 10.0.0.0/24");
        fails(admin.run("subnet", "create", "--network", "net1", "--subnet-range", "10.0.0.128/25", "overlap"), "overlaps");
        fails(admin.run("subnet", "create", "--network", "net1", "--subnet-range", "10.9.0.0/24", "--gateway", "10.8.0.1", "badgw"),
                "Gateway IP 10.8.0.1");

        JsonNode port1 = json(admin.ok("port", "create", "--network", "net1", "--fixed-ip", "subnet=sub1,ip-address=10.0.0.20",
                "port1", "-f", "json"));
        assertThat(port1.path("fixed_ips").toString()).contains("10.0.0.20");
        fails(admin.run("port", "create", "--network", "net1", "--fixed-ip", "subnet=sub1,ip-address=10.0.0.20", "dup"),
                "10.0.0.20 already allocated");
        assertThat(admin.ok("port", "list", "-f", "value", "-c", "Name")).contains("port1");
        assertThat(json(admin.ok("port", "show", "port1", "-f", "json")).path("mac_address").asText()).startsWith("fa:16:3e:");
        admin.ok("port", "create", "--network", "net1", "scratch");
        admin.ok("port", "delete", "scratch");
        assertThat(admin.ok("port", "list", "-f", "value", "-c", "Name")).doesNotContain("scratch");

        json(admin.ok("security", "group", "create", "web", "-f", "json"));
        String rule = json(admin.ok("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80", "web", "-f", "json"))
                .path("id").asText();
        assertThat(admin.ok("security", "group", "rule", "list", "web", "-f", "value")).contains(rule);
        admin.ok("security", "group", "rule", "delete", rule);
        assertThat(admin.ok("security", "group", "rule", "list", "web", "-f", "value")).doesNotContain(rule);

        admin.ok("network", "create", "--external", "--provider-network-type", "flat", "--provider-physical-network", "provider", "public");
        admin.ok("subnet", "create", "--network", "public", "--subnet-range", "172.24.4.0/24", "--no-dhcp", "pubsub");
        admin.ok("router", "create", "r1");
        admin.ok("router", "set", "--external-gateway", "public", "r1");
        admin.ok("router", "add", "subnet", "r1", "sub1");
        JsonNode router = json(admin.ok("router", "show", "r1", "-f", "json"));
        assertThat(router.path("external_gateway_info").toString()).contains("172.24.4.");
        JsonNode fip = json(admin.ok("floating", "ip", "create", "public", "-f", "json"));
        String fipId = fip.path("id").asText();
        assertThat(fip.path("floating_ip_address").asText()).startsWith("172.24.4.");
        admin.ok("floating", "ip", "set", "--port", "port1", fipId);
        JsonNode fipShown = json(admin.ok("floating", "ip", "show", fipId, "-f", "json"));
        assertThat(fipShown.path("fixed_ip_address").asText()).isEqualTo("10.0.0.20");
        assertThat(fipShown.path("router_id").asText()).isEqualTo(router.path("id").asText());

        // a server on a network and on a port; a NIC added and removed while it runs
        admin.ok("port", "create", "--network", "net1", "--security-group", "web", "port2");
        JsonNode vm = json(admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--network", "net1", "--port", "port2",
                "--wait", "vm1", "-f", "json"));
        String vmId = vm.path("id").asText();
        assertThat(vm.path("status").asText()).isEqualTo("ACTIVE");
        JsonNode onVm = json(admin.ok("port", "list", "--server", "vm1", "-f", "json"));
        assertThat(onVm).hasSize(2);
        assertThat(admin.ok("server", "show", "vm1", "-f", "json")).contains("net1").contains("10.0.0.");
        admin.ok("port", "create", "--network", "net1", "port3");
        admin.ok("server", "add", "port", "vm1", "port3");
        assertThat(json(admin.ok("port", "show", "port3", "-f", "json")).path("device_id").asText()).isEqualTo(vmId);
        assertThat(json(admin.ok("port", "list", "--server", "vm1", "-f", "json"))).hasSize(3);
        admin.ok("server", "remove", "port", "vm1", "port3");
        assertThat(json(admin.ok("port", "show", "port3", "-f", "json")).path("device_id").asText()).isEmpty();
        fails(admin.run("network", "delete", "net1"), "ports still in use");

        // deleting the server deletes the port it made and keeps the one it was given
        admin.ok("server", "delete", "--wait", "vm1");
        assertThat(json(admin.ok("port", "show", "port2", "-f", "json")).path("device_id").asText()).isEmpty();
        assertThat(json(admin.ok("port", "list", "--network", "net1", "-f", "json"))).hasSize(4); // port1-3 and the router's

        admin.ok("network", "create", "gone");
        admin.ok("network", "delete", "gone");
        assertThat(admin.ok("network", "list", "-f", "value", "-c", "Name")).doesNotContain("gone");
    }
}
