package io.halcyon.it;

import io.halcyon.testkit.Files2;
import io.halcyon.testkit.Lab;
import io.halcyon.testkit.OvnCentral;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;

/**
 * A cloud on N simulated hosts, in one line:
 * {@code @RegisterExtension static final LabCluster cluster = LabCluster.hosts(2);}
 * Before the class: the lab (hosts with BMCs), OVN's central databases and northd on the lab's
 * management network, a controller converging them, and on each host its agent (the real jar, in
 * the host's namespaces) running the host's Open vSwitch and ovn-controller on the userspace
 * datapath. After the class, or when anything fails on the way, all of it goes.
 */
final class LabCluster implements BeforeAllCallback, AfterAllCallback {
    static final String PHYSNET = "provider";

    private final int size;
    Lab lab;
    OvnCentral ovn;
    TestCloud cloud;
    private final List<Path> ovsDirs = new ArrayList<>();

    private LabCluster(int size) {
        this.size = size;
    }

    static LabCluster hosts(int n) {
        return new LabCluster(n);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        try {
            start();
        } catch (Exception | AssertionError e) {
            stop();
            throw e;
        }
    }

    private void start() throws Exception {
        Files.createDirectories(Paths.work());
        lab = Lab.create(Paths.root(), Files.createTempDirectory(Paths.work(), "lab"), size);
        ovn = OvnCentral.start(lab.controllerIp());
        // hostSubsetSize 1: the spread weigher alone decides, so consecutive boots land on different hosts
        cloud = TestCloud.startBound("  network: {ovnNorthbound: \"" + ovn.nbUnix() + "\", physicalNetworks: [" + PHYSNET + "]}\n"
                + "  scheduler: {hostSubsetSize: 1}\n", "0.0.0.0");
        String controller = "http://" + lab.controllerIp() + ":" + cloud.port;
        for (String h : lab.hosts()) {
            Path ovsDir = Path.of("/tmp", lab.prefix() + "-" + h + "-ovs");
            ovsDirs.add(ovsDir);
            Path agentDir = lab.hostDir(h).resolve("agent");
            String mgmt = lab.managementIp(h);
            String yaml = "agent:\n"
                    + "  name: " + h + "\n"
                    + "  controllers: [\"" + controller + "\"]\n"
                    + "  agentToken: " + TestCloud.AGENT_TOKEN + "\n"
                    + "  dataDir: " + agentDir + "\n"
                    + "  accel: tcg\n"
                    + "  stopTimeout: 20s\n"
                    + "  softRebootTimeout: 20s\n"
                    + "  listen: {bind: \"" + mgmt + "\", port: 0}\n"
                    + "  network:\n"
                    + "    ovnSouthbound: \"" + ovn.sbTcp(lab.controllerIp()) + "\"\n"
                    + "    ovs: {datapath: netdev, runDir: \"" + ovsDir + "\"}\n"
                    + "    interfaces:\n"
                    + "      - {name: mgmt0, roles: [management, storage, migration], address: \"" + mgmt + "/24\", gateway: \""
                    + lab.controllerIp() + "\"}\n"
                    + "      - {name: tun0, roles: [tenant], address: \"" + lab.tunnelIp(h) + "/24\"}\n"
                    + "      - {name: prov0, roles: [provider], physicalNetwork: " + PHYSNET + "}\n";
            Path config = lab.hostDir(h).resolve("agent.yaml");
            Files.writeString(config, yaml);
            lab.boot(h, "#!/bin/bash\nexec java -Xmx192m -XX:+UseSerialGC -jar " + Paths.jar() + " serve --config " + config
                    + " >> " + lab.hostDir(h).resolve("agent.log") + " 2>&1\n");
            lab.powerOn(h);
        }
        for (String h : lab.hosts()) {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                    .until(() -> cloud.controller.resources().hostUp(h));
        }
        // every chassis registered with the southbound database
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
            String out = ovn.sbctl("--bare", "--columns=name", "list", "Chassis").stdout();
            return lab.hosts().stream().allMatch(out::contains);
        });
    }

    private void stop() {
        if (lab != null) {
            lab.close();
        }
        if (cloud != null) {
            cloud.close();
        }
        if (ovn != null) {
            ovn.close();
        }
        ovsDirs.forEach(Files2::deleteTree);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        stop();
    }

    /** The agent's log of a host, for failure messages. */
    String agentLog(String host) {
        try {
            Path f = lab.hostDir(host).resolve("agent.log");
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
