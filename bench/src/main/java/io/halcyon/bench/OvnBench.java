package io.halcyon.bench;

import io.halcyon.cli.HalcyonConfig;
import io.halcyon.config.ConfigLoader;
import io.halcyon.controller.ControllerMain;
import io.halcyon.controller.ovn.OvnModel;
import io.halcyon.model.network.Network;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.SecurityGroup;
import io.halcyon.model.network.SecurityGroupRule;
import io.halcyon.model.network.Subnet;
import io.halcyon.ovsdb.OvsdbClient;
import io.halcyon.ovsdb.RowSync;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.Lab;
import io.halcyon.testkit.OvnCentral;
import io.halcyon.testkit.Ports;
import io.halcyon.testkit.TinyImage;

import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Networking benchmarks against real OVN:
 * <ul>
 *   <li>{@code ovn}: the controller's northbound pass converging 1,000 ports and 100 security-group
 *   rules into an empty northbound database (and northd catching up), a pass with nothing to do, and
 *   a pass after one rule changed; medians over several runs.</li>
 *   <li>{@code dhcp}: on a simulated host of the lab, from the port create request to a DHCP client
 *   on that port holding its lease (OVN's native DHCP), and from a server create request to the
 *   tiny guest printing the address it leased.</li>
 * </ul>
 */
public final class OvnBench {
    private OvnBench() {
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "ovn";
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        switch (mode) {
            case "ovn" -> converge(runs == 0 ? 5 : runs);
            case "dhcp" -> dhcp(Path.of(System.getProperty("halcyon.root", ".")), runs == 0 ? 10 : runs);
            default -> throw new IllegalArgumentException("usage: OvnBench ovn|dhcp [runs]");
        }
        System.exit(0);
    }

    /** 20 networks of 50 ports; 10 security groups of 10 rules, every port in two groups. */
    static OvnModel.State state(int rulePort) {
        Instant t = Instant.EPOCH;
        var nets = new ArrayList<Network>();
        var subs = new ArrayList<Subnet>();
        var ports = new ArrayList<Port>();
        var groups = new ArrayList<SecurityGroup>();
        var rules = new ArrayList<SecurityGroupRule>();
        for (int g = 0; g < 10; g++) {
            String gid = String.format("00000000-0000-4000-8000-%012d", g);
            groups.add(new SecurityGroup(gid, "p", "sg" + g, null, true, t, t, 0));
            for (int r = 0; r < 10; r++) {
                int port = g == 0 && r == 0 ? rulePort : 1000 + g * 10 + r;
                rules.add(new SecurityGroupRule(String.format("00000000-0000-4000-9000-%06d%06d", g, r), "p", gid, "ingress", "IPv4",
                        "tcp", port, port, r % 2 == 0 ? "10." + r + ".0.0/16" : null, r % 2 == 0 ? null : gid, null, t, t));
            }
        }
        for (int n = 0; n < 20; n++) {
            String nid = String.format("00000000-0000-4000-a000-%012d", n);
            String sid = String.format("00000000-0000-4000-b000-%012d", n);
            nets.add(new Network(nid, "p", "net" + n, null, true, false, false, Network.GENEVE, null, n + 1, 1442, true, t, t, 0));
            subs.add(new Subnet(sid, "p", nid, "sub" + n, null, 4, "10.1." + n + ".0/24", "10.1." + n + ".1",
                    List.of(new Subnet.AllocationPool("10.1." + n + ".2", "10.1." + n + ".254")), List.of(), List.of(), true, t, t, 0));
            for (int i = 0; i < 50; i++) {
                int k = n * 50 + i;
                ports.add(new Port(String.format("00000000-0000-4000-c000-%012d", k), "p", nid, "", null, true,
                        String.format("fa:16:3e:00:%02x:%02x", k / 256, k % 256), List.of(new Port.FixedIp(sid, "10.1." + n + "." + (i + 10))),
                        Port.OWNER_COMPUTE, "server" + k, List.of(groups.get(k % 10).id(), groups.get((k + 1) % 10).id()), true, List.of(),
                        "", "ACTIVE", t, t, 0));
            }
        }
        return new OvnModel.State(nets, subs, ports, groups, rules, List.of(), List.of(), Map.of(), List.of());
    }

    static void converge(int runs) throws Exception {
        var cold = new Stats();
        var northd = new Stats();
        var noop = new Stats();
        var oneRule = new Stats();
        var build = new Stats();
        OvnModel.State s = state(80);
        OvnModel.State changed = state(81);
        System.out.printf("northbound convergence: %d ports, %d security-group rules, %d networks, %d rows%n", s.ports().size(),
                s.rules().size(), s.networks().size(), OvnModel.rows(s).size());
        try (var ovn = OvnCentral.start("127.0.0.1"); var client = OvsdbClient.connect(ovn.nbUnix())) {
            var sync = new RowSync(client, OvnModel.DB, OvnModel.TABLES, Duration.ofSeconds(120));
            for (int run = 0; run <= runs; run++) {
                sync.sync(List.of());
                ovn.nbctl("--timeout=60", "--wait=sb", "sync").orThrow();
                long t0 = System.nanoTime();
                var rows = OvnModel.rows(s);
                long t1 = System.nanoTime();
                RowSync.Result r = sync.sync(rows);
                long t2 = System.nanoTime();
                ovn.nbctl("--timeout=120", "--wait=sb", "sync").orThrow();
                long t3 = System.nanoTime();
                long t4 = System.nanoTime();
                RowSync.Result again = sync.sync(OvnModel.rows(s));
                long t5 = System.nanoTime();
                RowSync.Result one = sync.sync(OvnModel.rows(changed));
                long t6 = System.nanoTime();
                if (again.changed() || one.updated() != 1) {
                    throw new IllegalStateException("unexpected passes: " + again + " " + one);
                }
                if (run == 0) {
                    System.out.printf("warm-up: inserted %d rows%n", r.inserted());
                    continue; // warm-up: JIT and database files
                }
                build.add((t1 - t0) / 1e6);
                cold.add((t2 - t0) / 1e6);
                northd.add((t3 - t0) / 1e6);
                noop.add((t5 - t4) / 1e6);
                oneRule.add((t6 - t5) / 1e6);
                System.out.printf("run %d: translate %.1f ms, converge %.1f ms, northd done %.1f ms, no-op pass %.1f ms, one rule changed %.1f ms%n",
                        run, (t1 - t0) / 1e6, (t2 - t0) / 1e6, (t3 - t0) / 1e6, (t5 - t4) / 1e6, (t6 - t5) / 1e6);
            }
        }
        System.out.println("empty -> 1,000 ports + 100 rules, committed to the northbound DB: " + cold.summary(" ms"));
        System.out.println("  of which translating the store's records into rows: " + build.summary(" ms"));
        System.out.println("  until ovn-northd has written the southbound DB (--wait=sb): " + northd.summary(" ms"));
        System.out.println("pass with nothing to change (read + compare): " + noop.summary(" ms"));
        System.out.println("pass after one rule changed: " + oneRule.summary(" ms"));
    }

    static void dhcp(Path root, int runs) throws Exception {
        Path dir = Files.createTempDirectory(Path.of(System.getProperty("halcyon.benchDir", "/var/tmp")), "halcyon-bench-dhcp");
        Path image = TinyImage.ensure(root, dir);
        Path ovsDir = null;
        try (Lab lab = Lab.create(root, dir.resolve("lab"), 1); var ovn = OvnCentral.start(lab.controllerIp())) {
            int port = Ports.free();
            int agentPort = Ports.free();
            String yaml = "controller:\n  dataDir: " + dir.resolve("data") + "\n  api: {port: " + port + ", bind: \"0.0.0.0\"}\n"
                    + "  agentApi: {port: " + agentPort + ", bind: \"0.0.0.0\"}\n"
                    + "  adminPassword: bench-password\n  agentToken: bench-agent-token-000\n"
                    + "  network: {ovnNorthbound: \"" + ovn.nbUnix() + "\"}\n"
                    + "  bootstrap:\n    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                    + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n";
            String h = lab.hosts().get(0);
            ovsDir = Path.of("/tmp", lab.prefix() + "-bench-ovs");
            String agent = "agent:\n  name: " + h + "\n  controllers: [\"http://" + lab.controllerIp() + ":" + agentPort + "\"]\n"
                    + "  agentToken: bench-agent-token-000\n  dataDir: " + lab.hostDir(h).resolve("agent") + "\n  accel: tcg\n"
                    + "  listen: {bind: \"" + lab.managementIp(h) + "\", port: 0}\n"
                    + "  network:\n    ovnSouthbound: \"" + ovn.sbTcp(lab.controllerIp()) + "\"\n"
                    + "    ovs: {datapath: netdev, runDir: \"" + ovsDir + "\"}\n"
                    + "    interfaces:\n      - {name: tun0, roles: [tenant], address: \"" + lab.tunnelIp(h) + "/24\"}\n";
            Path agentYaml = lab.hostDir(h).resolve("agent.yaml");
            Files.writeString(agentYaml, agent);
            Path jar = root.resolve("halcyon-cli/target/halcyon.jar");
            lab.boot(h, "#!/bin/bash\nexec java -Xmx192m -XX:+UseSerialGC -jar " + jar + " serve --config " + agentYaml + " >> "
                    + lab.hostDir(h).resolve("agent.log") + " 2>&1\n");
            var cfg = ConfigLoader.parse("bench", yaml, HalcyonConfig.class);
            try (var controller = ControllerMain.start(cfg.controller())) {
                lab.powerOn(h);
                long deadline = System.nanoTime() + 120_000_000_000L;
                while (!controller.resources().hostUp(h)) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the host's agent did not come up; see " + lab.hostDir(h).resolve("agent.log"));
                    }
                    Thread.sleep(100);
                }
                var api = new BenchApi(HttpClient.newHttpClient(), "http://127.0.0.1:" + port).login("admin", "bench-password", "admin");
                String net = api.json("POST", "/network/v2.0/networks", Map.of("network", Map.of("name", "bench")), 201)
                        .path("network").path("id").asText();
                api.json("POST", "/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net, "cidr", "10.77.0.0/24")), 201);
                String vsctl = "ovs-vsctl --db=unix:" + ovsDir.resolve("db.sock") + " ";
                var lease = new Stats();
                var apiOnly = new Stats();
                for (int run = 0; run <= runs; run++) {
                    String ifc = "dhc" + run;
                    // the host side exists first, as a guest's tap does before its port is bound
                    sh(lab, h, vsctl + "add-port br-int " + ifc + " -- set interface " + ifc + " type=internal && ip link set " + ifc + " up");
                    long t0 = System.nanoTime();
                    var port0 = api.json("POST", "/network/v2.0/ports", Map.of("port", Map.of("network_id", net, "binding:host_id", h)), 201)
                            .path("port");
                    long t1 = System.nanoTime();
                    String mac = port0.path("mac_address").asText();
                    String ip = port0.path("fixed_ips").get(0).path("ip_address").asText();
                    Command.Result r = sh(lab, h, vsctl + "set interface " + ifc + " mac=\\\"" + mac + "\\\" external_ids:iface-id="
                            + port0.path("id").asText() + " && busybox udhcpc -i " + ifc + " -n -q -t 40 -T 1 -s /bin/true 2>&1");
                    long t2 = System.nanoTime();
                    if (!r.stdout().contains("lease of " + ip)) {
                        throw new IllegalStateException("no lease of " + ip + ": " + r.stdout() + r.stderr());
                    }
                    sh(lab, h, vsctl + "del-port br-int " + ifc);
                    api.send("DELETE", "/network/v2.0/ports/" + port0.path("id").asText(), null);
                    if (run == 0) {
                        continue;
                    }
                    apiOnly.add((t1 - t0) / 1e6);
                    lease.add((t2 - t0) / 1e6);
                    System.out.printf("run %d: port create answered %.1f ms, lease of %s held %.1f ms after the request%n", run,
                            (t1 - t0) / 1e6, ip, (t2 - t0) / 1e6);
                }
                // a real guest: its port is made with it, it boots and leases
                var guest = new Stats();
                String img = api.imageId("tiny");
                for (int run = 0; run < Math.min(3, runs); run++) {
                    long t0 = System.nanoTime();
                    String id = api.json("POST", "/compute/v2.1/servers", Map.of("server", Map.of("name", "g" + run, "flavorRef", "1",
                            "imageRef", img, "networks", List.of(Map.of("uuid", net)))), 202).path("server").path("id").asText();
                    String line = null;
                    while (line == null && System.nanoTime() - t0 < 120_000_000_000L) {
                        var out = api.send("POST", "/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of()));
                        if (out.statusCode() == 200 && out.body().contains("halcyon-guest: ready 10.77.0.")) {
                            line = "ready";
                        } else {
                            Thread.sleep(50);
                        }
                    }
                    long t1 = System.nanoTime();
                    if (line == null) {
                        throw new IllegalStateException("guest " + id + " never leased");
                    }
                    guest.add((t1 - t0) / 1e6);
                    System.out.printf("guest %d: server create -> guest printed its leased address %.1f ms%n", run, (t1 - t0) / 1e6);
                    api.send("DELETE", "/compute/v2.1/servers/" + id, null);
                }
                System.out.println("port create -> DHCP lease held on the host (OVN native DHCP via the controller): " + lease.summary(" ms"));
                System.out.println("  of which the API answering the create: " + apiOnly.summary(" ms"));
                System.out.println("server create -> tiny guest booted (TCG) and holding its lease: " + guest.summary(" ms"));
            }
        } finally {
            if (ovsDir != null) {
                Files2.deleteTree(ovsDir);
            }
            Files2.deleteTree(dir);
        }
    }

    private static Command.Result sh(Lab lab, String host, String script) {
        Command.Result r = lab.exec(host, Duration.ofSeconds(90), "sh", "-c", script);
        if (r.exit() != 0) {
            throw new IllegalStateException(script + ": " + r.stdout() + r.stderr());
        }
        return r;
    }
}
