package io.halcyon.it;

import io.halcyon.agent.AgentConfig;
import io.halcyon.agent.AgentMain;
import io.halcyon.cli.HalcyonConfig;
import io.halcyon.config.ConfigLoader;
import io.halcyon.controller.ControllerMain;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.GuestProcesses;
import io.halcyon.testkit.Ports;
import io.halcyon.testkit.TinyImage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A controller (sqlite store in a temp directory) in this JVM or, for tests that kill it, as a
 * process of the real halcyon jar; agents either in this JVM or as processes. Closing it stops
 * everything it started, including any guest QEMU left under its agents' directories.
 */
final class TestCloud implements AutoCloseable {
    static final String ADMIN_PASSWORD = "it-admin-password";
    static final String AGENT_TOKEN = "it-agent-token-0123456789";

    final Path dir;
    final int port;
    /** The agents' listener. */
    final int agentPort;
    /** The in-process controller; null when it runs as a process (or is stopped by {@link #stopController}). */
    volatile ControllerMain controller;
    private io.halcyon.controller.ControllerConfig inProcessConfig;
    /** The controller process; null when it runs in this JVM. */
    final ControllerProcess controllerProcess;
    private final List<AutoCloseable> agents = new ArrayList<>();
    private final List<Path> agentDirs = new ArrayList<>();

    private TestCloud(Path dir, String extraControllerYaml, boolean asProcess) throws Exception {
        this(dir, extraControllerYaml, asProcess, "127.0.0.1");
    }

    private TestCloud(Path dir, String extraControllerYaml, boolean asProcess, String bind) throws Exception {
        this.dir = dir;
        this.port = Ports.free();
        this.agentPort = Ports.free();
        Path image = TinyImage.ensure(Paths.root(), Paths.work());
        String yaml = "controller:\n"
                + "  dataDir: " + dir.resolve("data") + "\n"
                + "  api: {port: " + port + ", bind: \"" + bind + "\"}\n"
                + "  agentApi: {port: " + agentPort + ", bind: \"" + bind + "\"}\n"
                + "  adminPassword: " + ADMIN_PASSWORD + "\n"
                + "  agentToken: " + AGENT_TOKEN + "\n"
                + "  bootstrap:\n"
                + "    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n"
                + extraControllerYaml;
        if (asProcess) {
            controller = null;
            controllerProcess = new ControllerProcess(yaml).start();
            controllerProcess.awaitServing();
        } else {
            var cfg = ConfigLoader.parse("test", yaml, HalcyonConfig.class);
            inProcessConfig = cfg.controller();
            controller = ControllerMain.start(inProcessConfig);
            controllerProcess = null;
        }
    }

    /** Stops the in-process controller: the whole control plane is gone until {@link #startController}. */
    void stopController() {
        controller.close();
        controller = null;
    }

    /** Starts the in-process controller again, on the same ports and store. */
    void startController() throws Exception {
        controller = ControllerMain.start(inProcessConfig);
    }

    static TestCloud start(String extraControllerYaml) throws Exception {
        Files.createDirectories(Paths.work());
        return new TestCloud(Files.createTempDirectory(Paths.work(), "cloud"), extraControllerYaml, false);
    }

    /** An in-process controller listening on {@code bind} (0.0.0.0 for the lab's hosts to reach it). */
    static TestCloud startBound(String extraControllerYaml, String bind) throws Exception {
        Files.createDirectories(Paths.work());
        return new TestCloud(Files.createTempDirectory(Paths.work(), "cloud"), extraControllerYaml, false, bind);
    }

    /** An in-process controller with one in-process agent, {@code host}, already up. */
    static TestCloud startWithHost(String host) throws Exception {
        return startWithHost(host, "");
    }

    static TestCloud startWithHost(String host, String extraControllerYaml) throws Exception {
        TestCloud c = start(extraControllerYaml);
        try {
            c.agentInProcess(host, "");
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).until(() -> c.controller.resources().hostUp(host));
            return c;
        } catch (Exception | AssertionError e) {
            c.close();
            throw e;
        }
    }

    /**
     * Controller configuration for a cloud with Ceph beside files: backends {@code file} and
     * {@code ceph}, volume types of the same names, {@code ceph} the default and root disks on it.
     */
    static String cephStorageYaml(io.halcyon.testkit.TestCeph ceph) {
        return "  storage:\n"
                + "    backends:\n"
                + "      - {name: ceph, type: rbd, pool: " + ceph.pool() + ", cephConf: " + ceph.conf() + ", capacityGb: 1000}\n"
                + "      - {name: file, type: file}\n"
                + "    volumeTypes:\n"
                + "      - {name: ceph, backend: ceph, description: Ceph RBD}\n"
                + "      - {name: file, backend: file, description: qcow2 files}\n"
                + "    defaultVolumeType: ceph\n"
                + "    rootDiskBackend: ceph\n";
    }

    /** The real CLI as the cloud's admin. */
    io.halcyon.testkit.OpenStackCli adminCli() {
        return new io.halcyon.testkit.OpenStackCli(url() + "/identity/v3", "admin", ADMIN_PASSWORD, "admin");
    }

    /** With the controller as a process of the real jar, so a test can kill -9 it. */
    static TestCloud startWithControllerProcess(String extraControllerYaml) throws Exception {
        Files.createDirectories(Paths.work());
        return new TestCloud(Files.createTempDirectory(Paths.work(), "cloud"), extraControllerYaml, true);
    }

    /** Whether the controller sees the host's agent alive, asked over the API so it works with either kind of controller. */
    boolean hostUp(String name) {
        try {
            for (var h : admin().get("/compute/v2.1/os-hypervisors/detail").body().path("hypervisors")) {
                if (h.path("hypervisor_hostname").asText().equals(name)) {
                    return h.path("state").asText().equals("up");
                }
            }
            return false;
        } catch (Exception | AssertionError e) {
            return false;
        }
    }

    /** A process of the real halcyon jar serving one configuration file, which a test can kill -9 and start again. */
    static class JarProcess implements AutoCloseable {
        final Path log;
        private final Path config;
        Process process;

        JarProcess(Path config, Path log, String yaml) throws IOException {
            this.config = config;
            this.log = log;
            Files.writeString(config, yaml);
        }

        void launch() throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            process = new ProcessBuilder(java, "-jar", Paths.jar().toString(), "serve", "--config", config.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        }

        void kill9() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }

        String logText() throws IOException {
            return Files.exists(log) ? Files.readString(log) : "";
        }

        @Override
        public void close() throws InterruptedException {
            if (process != null && process.isAlive()) {
                process.destroy();
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        }
    }

    /** The controller as its own process, serving the same port and data directory each time it starts. */
    final class ControllerProcess extends JarProcess {
        ControllerProcess(String yaml) throws IOException {
            super(dir.resolve("controller.yaml"), dir.resolve("controller.log"), yaml);
        }

        ControllerProcess start() throws IOException {
            launch();
            return this;
        }

        void awaitServing() throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("the controller exited with " + process.exitValue() + ": " + logText());
                }
                try {
                    new ApiClient(url()).login("admin", ADMIN_PASSWORD, "admin");
                    return;
                } catch (Exception | AssertionError e) {
                    Thread.sleep(200);
                }
            }
            throw new IllegalStateException("the controller did not serve within 90 s: " + logText());
        }
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    /** Where this machine's agents reach the controller. */
    String agentUrl() {
        return "http://127.0.0.1:" + agentPort;
    }

    ApiClient admin() throws Exception {
        return new ApiClient(url()).login("admin", ADMIN_PASSWORD, "admin");
    }

    String agentYaml(String name, Path agentDir, String extra) {
        return "agent:\n"
                + "  name: " + name + "\n"
                + "  controllers: [\"" + agentUrl() + "\"]\n"
                + "  agentToken: " + AGENT_TOKEN + "\n"
                + "  dataDir: " + agentDir + "\n"
                + "  accel: tcg\n"
                + "  stopTimeout: 20s\n"
                + "  softRebootTimeout: 20s\n"
                + extra;
    }

    AgentMain agentInProcess(String name, String extra) throws Exception {
        Path agentDir = dir.resolve("agent-" + name);
        agentDirs.add(agentDir);
        AgentConfig cfg = ConfigLoader.parse("test", agentYaml(name, agentDir, extra), HalcyonConfig.class).agent();
        AgentMain a = AgentMain.start(cfg);
        agents.add(a);
        return a;
    }

    /** An agent as its own process of the real jar, so a test can kill -9 it. */
    final class AgentProcess extends JarProcess {
        final Path dir;

        AgentProcess(String name, String extra) throws IOException {
            super(TestCloud.this.dir.resolve("agent-" + name + ".yaml"), TestCloud.this.dir.resolve("agent-" + name + ".log"),
                    agentYaml(name, TestCloud.this.dir.resolve("agent-" + name), extra));
            this.dir = TestCloud.this.dir.resolve("agent-" + name);
            agentDirs.add(dir);
            agents.add(this);
        }

        AgentProcess start() throws IOException {
            launch();
            return this;
        }
    }

    AgentProcess agentProcess(String name, String extra) throws IOException {
        return new AgentProcess(name, extra).start();
    }

    @Override
    public void close() {
        for (AutoCloseable a : agents) {
            try {
                a.close();
            } catch (Exception ignored) {
                // keep cleaning up
            }
        }
        if (controller != null) {
            controller.close();
        }
        if (controllerProcess != null) {
            try {
                controllerProcess.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Path d : agentDirs) {
            GuestProcesses.killAll(d);
        }
        Files2.deleteTree(dir);
    }
}
