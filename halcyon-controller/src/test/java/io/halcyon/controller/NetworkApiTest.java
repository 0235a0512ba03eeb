package io.halcyon.controller;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** The networking API over a real controller: lifecycle, IPAM under concurrency, routers and floating IPs, servers' ports. */
class NetworkApiTest {
    @TempDir
    static Path dir;
    static ControllerMain controller;
    static Http http;
    static Map<String, String> admin;
    static Map<String, String> user;
    static String image;

    @BeforeAll
    static void start() throws Exception {
        controller = TestController.start(dir, "");
        http = new Http("http://127.0.0.1:" + controller.port());
        admin = Http.token(http.login("admin", TestController.ADMIN_PASSWORD, "admin"));
        String project = http.call("POST", "/identity/v3/projects", Map.of("project", Map.of("name", "net-p")), admin).json()
                .path("project").path("id").asText();
        String member = http.call("GET", "/identity/v3/roles?name=member", null, admin).json().path("roles").get(0).path("id").asText();
        String uid = http.call("POST", "/identity/v3/users", Map.of("user", Map.of("name", "nu", "password", "pw-nu",
                "default_project_id", project)), admin).json().path("user").path("id").asText();
        http.call("PUT", "/identity/v3/projects/" + project + "/users/" + uid + "/roles/" + member, null, admin);
        user = Http.token(http.login("nu", "pw-nu", "net-p"));
        image = http.call("POST", "/image/v2/images", Map.of("name", "img", "disk_format", "raw", "container_format", "bare",
                "visibility", "public"), admin).json().path("id").asText();
        http.call("PUT", "/image/v2/images/" + image + "/file", new byte[4096],
                Map.of("X-Auth-Token", admin.get("X-Auth-Token"), "Content-Type", "application/octet-stream"));
    }

    @AfterAll
    static void stop() {
        if (controller != null) {
            controller.close();
        }
    }

    static JsonNode ok(Http.Res r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        return r.json();
    }

    static String network(String name, Map<String, String> who) {
        return ok(http.call("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", name)), who), 201)
                .path("network").path("id").asText();
    }

    static JsonNode subnet(String net, String cidr, Map<String, String> who) {
        return ok(http.call("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net, "cidr", cidr)), who), 201)
                .path("subnet");
    }

    @Test
    void networksSubnetsAndPortsFollowNeutron() {
        String net = network("life", user);
        JsonNode n = ok(http.call("GET", "/network/v2.0/networks/" + net, null, user), 200).path("network");
        assertThat(n.path("mtu").asInt()).isEqualTo(1442);
        assertThat(n.path("status").asText()).isEqualTo("ACTIVE");
        JsonNode s = subnet(net, "10.10.0.0/24", user);
        assertThat(s.path("gateway_ip").asText()).isEqualTo("10.10.0.1");
        assertThat(s.path("allocation_pools").get(0).path("start").asText()).isEqualTo("10.10.0.2");
        assertThat(s.path("allocation_pools").get(0).path("end").asText()).isEqualTo("10.10.0.254");
        assertThat(s.path("host_routes").isArray()).isTrue();
        assertThat(ok(http.call("GET", "/network/v2.0/networks/" + net, null, user), 200).path("network").path("subnets").get(0).asText())
                .isEqualTo(s.path("id").asText());

        JsonNode p = ok(http.call("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", net, "name", "p1")), user), 201)
                .path("port");
        String ip = p.path("fixed_ips").get(0).path("ip_address").asText();
        assertThat(ip).startsWith("10.10.0.");
        assertThat(p.path("mac_address").asText()).startsWith("fa:16:3e:");
        assertThat(p.path("security_groups")).hasSize(1);
        assertThat(p.path("port_security_enabled").asBoolean()).isTrue();
        // filters, fields
        var byIp = ok(http.call("GET", "/network/v2.0/ports?fixed_ips=ip_address%3D" + ip + "&fields=id&fields=name", null, user), 200);
        assertThat(byIp.path("ports")).hasSize(1);
        assertThat(byIp.path("ports").get(0).has("mac_address")).isFalse();
        assertThat(ok(http.call("GET", "/network/v2.0/networks?name=life", null, user), 200).path("networks")).hasSize(1);
        assertThat(ok(http.call("GET", "/network/v2.0/networks?name=nothing", null, user), 200).path("networks")).isEmpty();

        // deleting the port frees its address for the next one that asks
        ok(http.call("DELETE", "/network/v2.0/ports/" + p.path("id").asText(), null, user), 204);
        JsonNode again = ok(http.call("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", net,
                "fixed_ips", List.of(Map.of("ip_address", ip)))), user), 201).path("port");
        assertThat(again.path("fixed_ips").get(0).path("ip_address").asText()).isEqualTo(ip);
        ok(http.call("DELETE", "/network/v2.0/networks/" + net, null, user), 409);
        ok(http.call("DELETE", "/network/v2.0/ports/" + again.path("id").asText(), null, user), 204);
        ok(http.call("DELETE", "/network/v2.0/networks/" + net, null, user), 204);
        ok(http.call("GET", "/network/v2.0/subnets/" + s.path("id").asText(), null, user), 404);

        // the default group: all egress, ingress from its members
        JsonNode groups = ok(http.call("GET", "/network/v2.0/security-groups?name=default", null, user), 200).path("security_groups");
        assertThat(groups).hasSize(1);
        assertThat(groups.get(0).path("security_group_rules")).hasSize(4);
    }

    @Test
    void concurrentPortCreatesNeverShareAnAddress() throws Exception {
        String net = network("ipam", user);
        subnet(net, "10.20.0.0/24", user);
        List<Http.Res> results = createPorts(net, 200);
        var ips = new HashSet<String>();
        for (Http.Res r : results) {
            ips.add(ok(r, 201).path("port").path("fixed_ips").get(0).path("ip_address").asText());
        }
        assertThat(ips).hasSize(200);

        // past the pool: the rest get Neutron's IpAddressGenerationFailure
        String small = network("ipam-small", user);
        subnet(small, "10.21.0.0/26", user); // 61 addresses after the gateway
        var smallIps = new HashSet<String>();
        int failed = 0;
        for (Http.Res r : createPorts(small, 70)) {
            if (r.status() == 201) {
                smallIps.add(r.json().path("port").path("fixed_ips").get(0).path("ip_address").asText());
            } else {
                assertThat(r.status()).as(r.body()).isEqualTo(409);
                assertThat(r.json().path("NeutronError").path("type").asText()).isEqualTo("IpAddressGenerationFailure");
                failed++;
            }
        }
        assertThat(smallIps).hasSize(61);
        assertThat(failed).isEqualTo(9);
    }

    static List<Http.Res> createPorts(String net, int n) throws Exception {
        var pool = Executors.newFixedThreadPool(50);
        try {
            var futures = new ArrayList<Future<Http.Res>>();
            for (int i = 0; i < n; i++) {
                Callable<Http.Res> c = () -> http.call("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", net)), admin);
                futures.add(pool.submit(c));
            }
            var out = new ArrayList<Http.Res>();
            for (var f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void routersAndFloatingIps() {
        String ext = ok(http.call("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "public",
                "provider:network_type", "flat", "provider:physical_network", "provider", "router:external", true)), admin), 201)
                .path("network").path("id").asText();
        subnet(ext, "172.24.4.0/24", admin);
        String net = network("behind", user);
        String sub = subnet(net, "10.30.0.0/24", user).path("id").asText();
        JsonNode router = ok(http.call("POST", "/network/v2.0/routers", Map.of("router", Map.of("name", "r",
                "external_gateway_info", Map.of("network_id", ext))), user), 201).path("router");
        String rid = router.path("id").asText();
        assertThat(router.path("external_gateway_info").path("enable_snat").asBoolean()).isTrue();
        assertThat(router.path("external_gateway_info").path("external_fixed_ips").get(0).path("ip_address").asText())
                .startsWith("172.24.4.");
        JsonNode iface = ok(http.call("PUT", "/network/v2.0/routers/" + rid + "/add_router_interface", Map.of("subnet_id", sub), user), 200);
        assertThat(iface.path("subnet_id").asText()).isEqualTo(sub);
        JsonNode gwPort = ok(http.call("GET", "/network/v2.0/ports/" + iface.path("port_id").asText(), null, user), 200).path("port");
        assertThat(gwPort.path("fixed_ips").get(0).path("ip_address").asText()).isEqualTo("10.30.0.1");
        assertThat(gwPort.path("device_owner").asText()).isEqualTo("network:router_interface");

        String port = ok(http.call("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", net)), user), 201)
                .path("port").path("id").asText();
        JsonNode fip = ok(http.call("POST", "/network/v2.0/floatingips", Map.of("floatingip", Map.of("floating_network_id", ext,
                "port_id", port)), user), 201).path("floatingip");
        assertThat(fip.path("router_id").asText()).isEqualTo(rid);
        assertThat(fip.path("fixed_ip_address").asText()).startsWith("10.30.0.");
        assertThat(fip.path("status").asText()).isEqualTo("ACTIVE");
        String fid = fip.path("id").asText();
        // the router cannot lose its interface while a floating IP goes through it, nor be deleted while it has one
        ok(http.call("PUT", "/network/v2.0/routers/" + rid + "/remove_router_interface", Map.of("subnet_id", sub), user), 409);
        ok(http.call("DELETE", "/network/v2.0/routers/" + rid, null, user), 409);
        JsonNode off = ok(http.call("PUT", "/network/v2.0/floatingips/" + fid, "{\"floatingip\": {\"port_id\": null}}", user), 200)
                .path("floatingip");
        assertThat(off.path("port_id").isNull()).isTrue();
        assertThat(off.path("status").asText()).isEqualTo("DOWN");
        ok(http.call("DELETE", "/network/v2.0/floatingips/" + fid, null, user), 204);
        ok(http.call("PUT", "/network/v2.0/routers/" + rid + "/remove_router_interface", Map.of("subnet_id", sub), user), 200);
        ok(http.call("DELETE", "/network/v2.0/routers/" + rid, null, user), 204);
        assertThat(ok(http.call("GET", "/network/v2.0/ports?device_id=" + rid, null, admin), 200).path("ports")).isEmpty();
    }

    @Test
    void serversGetPortsAndLetThemGo() {
        String net = network("srv", user);
        subnet(net, "10.40.0.0/24", user);
        JsonNode own = ok(http.call("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", net, "name", "mine")), user), 201)
                .path("port");
        String ownId = own.path("id").asText();
        var create = ok(http.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "s", "flavorRef", "1", "imageRef", image,
                "networks", List.of(Map.of("uuid", net, "fixed_ip", "10.40.0.50"), Map.of("port", ownId)))), user), 202);
        String server = create.path("server").path("id").asText();
        JsonNode ports = ok(http.call("GET", "/network/v2.0/ports?device_id=" + server, null, user), 200).path("ports");
        assertThat(ports).hasSize(2);
        for (JsonNode p : ports) {
            assertThat(p.path("device_owner").asText()).isEqualTo("compute:nova");
        }
        JsonNode view = ok(http.call("GET", "/compute/v2.1/servers/" + server, null, user), 200).path("server");
        var addrs = new HashSet<String>();
        view.path("addresses").path("srv").forEach(a -> addrs.add(a.path("addr").asText()));
        assertThat(addrs).contains("10.40.0.50", own.path("fixed_ips").get(0).path("ip_address").asText());
        JsonNode ifaces = ok(http.call("GET", "/compute/v2.1/servers/" + server + "/os-interface", null, user), 200)
                .path("interfaceAttachments");
        assertThat(ifaces).hasSize(2);
        assertThat(ifaces.get(0).path("fixed_ips").get(0).path("ip_address").asText()).isEqualTo("10.40.0.50");
        // a port bound to a server cannot boot another one
        ok(http.call("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "t", "flavorRef", "1", "imageRef", image,
                "networks", List.of(Map.of("port", ownId)))), user), 409);

        ok(http.call("DELETE", "/compute/v2.1/servers/" + server, null, user), 204);
        assertThat(ok(http.call("GET", "/network/v2.0/ports?network_id=" + net, null, user), 200).path("ports")).hasSize(1);
        JsonNode kept = ok(http.call("GET", "/network/v2.0/ports/" + ownId, null, user), 200).path("port");
        assertThat(kept.path("device_id").asText()).isEmpty();
        assertThat(kept.path("device_owner").asText()).isEmpty();
        // its address went back to the pool
        ok(http.call("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", net,
                "fixed_ips", List.of(Map.of("ip_address", "10.40.0.50")))), user), 201);
    }
}
