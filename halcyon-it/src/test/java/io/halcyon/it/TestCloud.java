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
 * A controller in this JVM (sqlite store in a temp directory) and agents either in this JVM or as
 * separate processes of the real halcyon jar. Closing it stops everything it started, including
 * any guest QEMU left under its agents' directories.
 */
final class TestCloud implements AutoCloseable {
    static final String ADMIN_PASSWORD = "it-admin-password";
    static final String AGENT_TOKEN = "it-agent-token-0123456789";

    final Path dir;
    final int port;
    final ControllerMain controller;
    private final List<AutoCloseable> agents = new ArrayList<>();
    private final List<Path> agentDirs = new ArrayList<>();

    private TestCloud(Path dir, String extraControllerYaml) throws Exception {
        this.dir = dir;
        this.port = Ports.free();
        Path image = TinyImage.ensure(Paths.root(), Paths.work());
        String yaml = "controller:\n"
                + "  dataDir: " + dir.resolve("data") + "\n"
                + "  api: {port: " + port + "}\n"
                + "  adminPassword: " + ADMIN_PASSWORD + "\n"
                + "  agentToken: " + AGENT_TOKEN + "\n"
                + "  bootstrap:\n"
                + "    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n"
                + extraControllerYaml;
        var cfg = ConfigLoader.parse("test", yaml, HalcyonConfig.class);
        controller = ControllerMain.start(cfg.controller());
    }

    static TestCloud start(String extraControllerYaml) throws Exception {
        Files.createDirectories(Paths.work());
        return new TestCloud(Files.createTempDirectory(Paths.work(), "cloud"), extraControllerYaml);
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    ApiClient admin() throws Exception {
        return new ApiClient(url()).login("admin", ADMIN_PASSWORD, "admin");
    }

    String agentYaml(String name, Path agentDir, String extra) {
        return "agent:\n"
                + "  name: " + name + "\n"
                + "  controllers: [\"" + url() + "\"]\n"
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
    final class AgentProcess implements AutoCloseable {
        final Path dir;
        final Path log;
        private final Path config;
        Process process;

        AgentProcess(String name, String extra) throws IOException {
            this.dir = TestCloud.this.dir.resolve("agent-" + name);
            this.config = TestCloud.this.dir.resolve("agent-" + name + ".yaml");
            this.log = TestCloud.this.dir.resolve("agent-" + name + ".log");
            Files.writeString(config, agentYaml(name, dir, extra));
            agentDirs.add(dir);
            agents.add(this);
        }

        AgentProcess start() throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            process = new ProcessBuilder(java, "-jar", Paths.jar().toString(), "serve", "--config", config.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            return this;
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
        controller.close();
        for (Path d : agentDirs) {
            GuestProcesses.killAll(d);
        }
        Files2.deleteTree(dir);
    }
}
