package io.halcyon.it;

import io.halcyon.testkit.Files2;
import io.halcyon.testkit.Lab;
import io.halcyon.testkit.LabAgents;
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
    private boolean ha;
    private boolean withCeph;
    private boolean witness;
    private int guestSlots;
    private final java.util.Set<String> noWatchdog = new java.util.HashSet<>();
    Lab lab;
    /** The test Ceph on the lab's management network, with {@link #withCeph()}. */
    io.halcyon.testkit.TestCeph ceph;
    OvnCentral ovn;
    TestCloud cloud;
    private final List<Path> ovsDirs = new ArrayList<>();

    private LabCluster(int size) {
        this.size = size;
    }

    static LabCluster hosts(int n) {
        return new LabCluster(n);
    }

    /**
     * With instance HA set up: a credential key for BMC passwords, each agent petting its host's
     * simulated watchdog, and room on each host for {@code guestSlots} guests of 128 MB (0: all of it).
     */
    LabCluster withHa(int slots) {
        this.ha = true;
        this.guestSlots = slots;
        return this;
    }

    /** With the hosts' heartbeats on the shared storage (a directory all of them and the controller share). */
    LabCluster withWitness() {
        this.witness = true;
        return this;
    }

    Path witnessDir() {
        return lab.dir().resolve("witness");
    }

    /** With a test Ceph the hosts reach: backend and volume type {@code ceph} beside {@code file} (still the default). */
    LabCluster withCeph() {
        this.withCeph = true;
        return this;
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
        String haYaml = "";
        if (ha) {
            Path key = lab.dir().resolve("ha.key");
            io.halcyon.config.Sealer.generate(key);
            Files.createDirectories(witnessDir());
            haYaml = "  ha: {credentialKeyFile: \"" + key + "\", brakeWindow: 25s" + (witness ? ", witness: \"" + witnessDir() + "\"" : "")
                    + "}\n";
        }
        String storageYaml = "";
        if (withCeph) {
            ceph = io.halcyon.testkit.TestCeph.start(Files.createTempDirectory(Paths.work(), "ceph"), lab.controllerIp(), 1, 4L << 30);
            storageYaml = "  storage:\n"
                    + "    backends:\n"
                    + "      - {name: file, type: file}\n"
                    + "      - {name: ceph, type: rbd, pool: " + ceph.pool() + ", cephConf: " + ceph.conf() + ", capacityGb: 1000}\n"
                    + "    volumeTypes:\n"
                    + "      - {name: default, backend: file}\n"
                    + "      - {name: ceph, backend: ceph}\n";
        }
        cloud = TestCloud.startBound("  network: {ovnNorthbound: \"" + ovn.nbUnix() + "\", physicalNetworks: [" + PHYSNET + "]}\n"
                + "  scheduler: {hostSubsetSize: 1}\n" + haYaml + storageYaml, "0.0.0.0");
        for (String h : lab.hosts()) {
            ovsDirs.add(LabAgents.ovsDir(lab, h));
            writeAgentConfig(h);
            bootAgent(h, true);
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

    /** Writes the host's agent.yaml (read at its next boot): with its watchdog unless {@link #watchdog} said otherwise. */
    void writeAgentConfig(String h) {
        LabAgents.configure(lab, h, new LabAgents.Options(java.util.List.of("http://" + lab.controllerIp() + ":" + cloud.agentPort), TestCloud.AGENT_TOKEN,
                ovn.sbTcp(lab.controllerIp()), ha && !noWatchdog.contains(h), guestSlots, witness ? witnessDir() : null));
    }

    /** What the host's init runs: its agent, or (false) nothing, so a killed agent stays dead. */
    void bootAgent(String h, boolean agent) {
        LabAgents.boot(lab, h, Paths.jar(), agent);
    }

    /** The host's next boot runs its agent without (false) or with (true) its watchdog. */
    void watchdog(String h, boolean on) {
        if (on) {
            noWatchdog.remove(h);
        } else {
            noWatchdog.add(h);
        }
        writeAgentConfig(h);
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
        if (ceph != null) {
            ceph.close();
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
