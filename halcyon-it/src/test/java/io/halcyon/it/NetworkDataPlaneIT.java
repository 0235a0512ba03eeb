package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tenant networking for real, on two simulated hosts: OVN's DHCP, Geneve between hosts, isolation
 * between networks, security groups changing while guests talk, port security against spoofing,
 * and a router with a floating IP reached from the provider network. Guests report through their
 * consoles: a user-data loop prints one line per HTTP probe.
 */
class NetworkDataPlaneIT {
    @RegisterExtension
    static final LabCluster cluster = LabCluster.hosts(2);

    static final String A = "10.10.0.10";
    static final String B = "10.10.0.11";
    static final String C = "10.10.0.12";
    static final String D = "10.10.0.13";
    static ApiClient api;
    static String image;

    @BeforeAll
    static void login() throws Exception {
        api = cluster.cloud.admin();
        image = api.imageId("tiny");
    }

    static JsonNode created(ApiClient.Response r, String key) {
        assertThat(r.status()).as(r.raw()).isIn(201, 202);
        return r.body().path(key);
    }

    static String id(ApiClient.Response r, String key) {
        return created(r, key).path("id").asText();
    }

    /** A user-data loop that probes each target's httpd once a second and prints "probe N TARGET ok|fail". */
    static String probeLoop(String... targets) {
        return "#!/bin/sh\nn=0\nwhile :; do\n  for t in " + String.join(" ", targets) + "; do\n    n=$((n+1))\n"
                + "    if timeout 3 wget -q -O /dev/null http://$t/ 2>/dev/null; then echo \"probe $n $t ok\"; else echo \"probe $n $t fail\"; fi\n"
                + "  done\n  sleep 1\ndone\n";
    }

    static String spoofer(String target, String own) {
        return "#!/bin/sh\nT=" + target + "\np() { timeout 3 wget -q -O /dev/null http://$T/ 2>/dev/null && echo ok || echo fail; }\n"
                + "retry() { r=fail; for i in 1 2 3 4 5 6 7 8 9 10; do r=$(p); [ $r = ok ] && break; sleep 1; done; echo $r; }\n"
                + "echo \"spoof real $(retry)\"\n"
                + "ip addr flush dev eth0; ip addr add 10.10.0.99/24 dev eth0\n"
                + "echo \"spoof ip $(p)\"\n"
                + "ip addr flush dev eth0; ip addr add " + own + "/24 dev eth0\n"
                + "echo \"spoof back $(retry)\"\n"
                + "ip link set eth0 down; ip link set eth0 address 02:00:00:00:00:99; ip link set eth0 up\n"
                + "echo \"spoof mac $(p)\"\n";
    }

    static String port(String net, String ip, List<String> groups) throws Exception {
        return id(api.post("/network/v2.0/ports", Map.of("port", Map.of("network_id", net, "fixed_ips", List.of(Map.of("ip_address", ip)),
                "security_groups", groups))), "port");
    }

    static String boot(String name, String port, String userData) throws Exception {
        return id(api.post("/compute/v2.1/servers", Map.of("server", Map.of("name", name, "flavorRef", "1", "imageRef", image,
                "networks", List.of(Map.of("port", port)),
                "user_data", Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8))))), "server");
    }

    static String host(String server) throws Exception {
        await().atMost(Duration.ofSeconds(60)).until(() -> !api.get("/compute/v2.1/servers/" + server).body().path("server")
                .path("OS-EXT-SRV-ATTR:host").isNull());
        return api.get("/compute/v2.1/servers/" + server).body().path("server").path("OS-EXT-SRV-ATTR:host").asText();
    }

    static String console(String server) throws Exception {
        return api.post("/compute/v2.1/servers/" + server + "/action", Map.of("os-getConsoleOutput", Map.of())).body().path("output").asText();
    }

    static void awaitConsole(String server, String regex) {
        Pattern p = Pattern.compile(regex, Pattern.MULTILINE);
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                .untilAsserted(() -> assertThat(p.matcher(console(server)).find()).as("%s on the console of %s:%n%s", regex, server,
                        console(server)).isTrue());
    }

    /** The number of the last probe of {@code target} the guest printed, or 0. */
    static int lastProbe(String server, String target) throws Exception {
        Matcher m = Pattern.compile("probe (\\d+) " + Pattern.quote(target) + " (ok|fail)").matcher(console(server));
        int n = 0;
        while (m.find()) {
            n = Integer.parseInt(m.group(1));
        }
        return n;
    }

    /** Waits for a probe of {@code target} newer than {@code after} with the given result. */
    static void awaitProbe(String server, String target, int after, String result) {
        Pattern p = Pattern.compile("probe (\\d+) " + Pattern.quote(target) + " " + result);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            Matcher m = p.matcher(console(server));
            boolean seen = false;
            while (m.find()) {
                seen |= Integer.parseInt(m.group(1)) > after;
            }
            assertThat(seen).as("a probe of %s after #%d that is %s:%n%s", target, after, result, console(server)).isTrue();
        });
    }

    @Test
    void tenantNetworksSecurityGroupsPortSecurityAndFloatingIps() throws Exception {
        String blue = id(api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "blue"))), "network");
        id(api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", blue, "cidr", "10.10.0.0/24"))), "subnet");
        String blueSubnet = api.get("/network/v2.0/subnets?network_id=" + blue).body().path("subnets").get(0).path("id").asText();
        // the same addresses on another network: only the overlay keeps them apart
        String red = id(api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "red"))), "network");
        id(api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", red, "cidr", "10.10.0.0/24"))), "subnet");
        String open = id(api.post("/network/v2.0/security-groups", Map.of("security_group", Map.of("name", "open"))), "security_group");
        id(api.post("/network/v2.0/security-group-rules", Map.of("security_group_rule", Map.of("security_group_id", open,
                "direction", "ingress", "ethertype", "IPv4"))), "security_group_rule");
        String web = id(api.post("/network/v2.0/security-groups", Map.of("security_group", Map.of("name", "web"))), "security_group");

        String pa = port(blue, A, List.of("default", open));
        String pb = port(blue, B, List.of("default"));
        String pc = port(red, C, List.of("default", open));
        String pd = port(blue, D, List.of("default"));
        String ga = boot("ga", pa, probeLoop(B));
        String hostA = host(ga);
        String gb = boot("gb", pb, probeLoop(A));
        String hostB = host(gb);
        assertThat(hostB).as("the two guests of one network run on different hosts").isNotEqualTo(hostA);
        String gc = boot("gc", pc, probeLoop(A, B));
        String gd = boot("gd", pd, spoofer(A, D));

        // addresses from OVN's DHCP, with the overlay's MTU
        awaitConsole(ga, "halcyon-guest: ready " + A);
        awaitConsole(gb, "halcyon-guest: ready " + B);
        awaitConsole(gc, "halcyon-guest: ready " + C);
        // across hosts over Geneve, both ways
        awaitProbe(ga, B, 0, "ok");
        awaitProbe(gb, A, 0, "ok");
        // bound on their chassis: Neutron's ACTIVE, with the host in the binding
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(api.get("/network/v2.0/ports/" + pa).body().path("port").path("status").asText()).isEqualTo("ACTIVE"));

        // another network reaches neither, though it has the same addresses
        awaitProbe(gc, A, 2, "fail");
        awaitProbe(gc, B, 2, "fail");
        assertThat(console(gc)).doesNotContain(A + " ok").doesNotContain(B + " ok");

        // a guest that takes another IP or MAC cannot send
        awaitConsole(gd, "user-data: spoof mac (ok|fail)");
        String spoof = console(gd);
        assertThat(spoof).contains("spoof real ok").contains("spoof ip fail").contains("spoof back ok").contains("spoof mac fail");

        // a port deleted through the API: the guest loses the NIC, the host its tap, OVN the logical port
        String hostD = host(gd);
        String tapD = "tap" + pd.substring(0, 11);
        assertThat(cluster.lab.exec(hostD, Duration.ofSeconds(10), "ip", "link", "show", tapD).exit()).isZero();
        assertThat(api.delete("/network/v2.0/ports/" + pd).status()).isEqualTo(204);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            assertThat(cluster.lab.exec(hostD, Duration.ofSeconds(10), "ip", "link", "show", tapD).exit()).isNotZero();
            assertThat(cluster.ovn.nbctl("lsp-list", "neutron-" + blue).stdout()).doesNotContain(pd);
        });

        // a group without an ingress TCP rule blocks HTTP; adding the rule allows it; removing it blocks it again
        assertThat(api.put("/network/v2.0/ports/" + pb, Map.of("port", Map.of("security_groups", List.of(web)))).status()).isEqualTo(200);
        awaitProbe(ga, B, lastProbe(ga, B), "fail");
        String rule = id(api.post("/network/v2.0/security-group-rules", Map.of("security_group_rule", Map.of("security_group_id", web,
                "direction", "ingress", "ethertype", "IPv4", "protocol", "tcp", "port_range_min", 80, "port_range_max", 80))),
                "security_group_rule");
        awaitProbe(ga, B, lastProbe(ga, B), "ok");
        assertThat(api.delete("/network/v2.0/security-group-rules/" + rule).status()).isEqualTo(204);
        awaitProbe(ga, B, lastProbe(ga, B), "fail");

        // a router to the provider network and a floating IP: gb's httpd seen from outside, and not once it is gone
        String cidr = cluster.lab.providerCidr();
        String base = cidr.substring(0, cidr.lastIndexOf('.'));
        String pub = id(api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "public", "router:external", true,
                "provider:network_type", "flat", "provider:physical_network", LabCluster.PHYSNET))), "network");
        id(api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", pub, "cidr", cidr, "enable_dhcp", false,
                "gateway_ip", cluster.lab.providerGateway(), "allocation_pools", List.of(Map.of("start", base + ".100", "end", base + ".150"))))),
                "subnet");
        String router = id(api.post("/network/v2.0/routers", Map.of("router", Map.of("name", "r1",
                "external_gateway_info", Map.of("network_id", pub)))), "router");
        assertThat(api.put("/network/v2.0/routers/" + router + "/add_router_interface", Map.of("subnet_id", blueSubnet)).status())
                .isEqualTo(200);
        assertThat(api.put("/network/v2.0/ports/" + pb, Map.of("port", Map.of("security_groups", List.of(open)))).status()).isEqualTo(200);
        JsonNode fip = created(api.post("/network/v2.0/floatingips", Map.of("floatingip", Map.of("floating_network_id", pub,
                "port_id", pb))), "floatingip");
        String address = fip.path("floating_ip_address").asText();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(cluster.lab.outside(Duration.ofSeconds(10), "curl", "-s", "--max-time", "2", "http://" + address + "/").stdout())
                        .contains(B));
        assertThat(api.put("/network/v2.0/floatingips/" + fip.path("id").asText(), Map.of("floatingip",
                Collections.singletonMap("port_id", null))).status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(cluster.lab.outside(Duration.ofSeconds(10), "curl", "-s", "--max-time", "2", "http://" + address + "/").exit())
                        .isNotZero());
    }
}
