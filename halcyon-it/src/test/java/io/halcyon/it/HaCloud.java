package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.halcyon.agent.AgentConfig;
import io.halcyon.agent.AgentMain;
import io.halcyon.cli.HalcyonConfig;
import io.halcyon.config.ConfigLoader;
import io.halcyon.testkit.EtcdCluster;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.GuestProcesses;
import io.halcyon.testkit.Ports;
import io.halcyon.testkit.TinyImage;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The control plane as operators run it: an etcd cluster of three, three controller processes of
 * the real jar over it (sharing one data directory, as they would share storage), and agents in
 * this JVM that know every controller. Controllers can be killed, stopped and restarted; etcd
 * members too.
 */
final class HaCloud implements AutoCloseable {
    static final String ADMIN_PASSWORD = "ha-admin-password";
    static final String AGENT_TOKEN = "ha-agent-token-0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();

    final Path dir;
    final EtcdCluster etcd;
    final List<Controller> controllers = new ArrayList<>();
    final List<AgentMain> agents = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** One controller process, restartable on the same port. */
    final class Controller {
        final int index;
        final int port;
        final int agentPort;
        final Path config;
        final Path log;
        Process process;

        Controller(int index, String leaderTtl, String extraYaml, String bind) throws IOException {
            this.index = index;
            this.port = Ports.free();
            this.agentPort = Ports.free();
            this.config = dir.resolve("controller-" + index + ".yaml");
            this.log = dir.resolve("controller-" + index + ".log");
            Path image = TinyImage.ensure(Paths.root(), Paths.work());
            var endpoints = String.join("\", \"", etcd.endpoints());
            Files.writeString(config, "controller:\n"
                    + "  dataDir: " + dir.resolve("data") + "\n"
                    + "  api: {port: " + port + ", bind: \"" + bind + "\"}\n"
                    + "  agentApi: {port: " + agentPort + ", bind: \"" + bind + "\"}\n"
                    + "  store: {backend: etcd, etcdEndpoints: [\"" + endpoints + "\"], timeout: 3s}\n"
                    + "  secretKeyFile: " + dir.resolve("secret.key") + "\n"
                    + "  leaderTtl: " + leaderTtl + "\n"
                    + "  adminPassword: " + ADMIN_PASSWORD + "\n"
                    + "  agentToken: " + AGENT_TOKEN + "\n"
                    + "  quotas: {instances: 2000, cores: 4000, ram: 4096000}\n"
                    + "  bootstrap:\n"
                    + "    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                    + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n"
                    + extraYaml);
        }

        String url() {
            return "http://127.0.0.1:" + port;
        }

        String agentUrl() {
            return "http://127.0.0.1:" + agentPort;
        }

        void start() throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            process = new ProcessBuilder(java, "-Xmx256m", "-jar", Paths.jar().toString(), "serve", "--config", config.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        }

        boolean alive() {
            return process != null && process.isAlive();
        }

        long pid() {
            return process.pid();
        }

        void kill9() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }

        void signal(String sig) throws IOException, InterruptedException {
            new ProcessBuilder("kill", "-" + sig, Long.toString(pid())).start().waitFor(10, TimeUnit.SECONDS);
        }

        /** The health document, or null when it does not answer. */
        JsonNode health() {
            try {
                var r = http.send(HttpRequest.newBuilder(URI.create(url() + "/halcyon/v1/health")).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }

        boolean leader() {
            JsonNode h = health();
            return h != null && h.path("leader").asBoolean();
        }

        String logText() throws IOException {
            return Files.exists(log) ? Files.readString(log) : "";
        }
    }

    private HaCloud(Path dir, EtcdCluster etcd) {
        this.dir = dir;
        this.etcd = etcd;
    }

    static HaCloud start(int controllers, String leaderTtl) throws Exception {
        return start(controllers, leaderTtl, "", "127.0.0.1");
    }

    /** With {@code extraYaml} added to every controller's section, listening on {@code bind}. */
    static HaCloud start(int controllers, String leaderTtl, String extraYaml, String bind) throws Exception {
        Files.createDirectories(Paths.work());
        Path dir = Files.createTempDirectory(Paths.work(), "ha");
        EtcdCluster etcd = EtcdCluster.start(dir, 3);
        var c = new HaCloud(dir, etcd);
        try {
            for (int i = 0; i < controllers; i++) {
                c.controllers.add(c.new Controller(i, leaderTtl, extraYaml, bind));
            }
            for (Controller ctl : c.controllers) {
                ctl.start();
            }
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
                for (Controller ctl : c.controllers) {
                    if (!ctl.alive()) {
                        throw new IllegalStateException("controller " + ctl.index + " exited: " + ctl.logText());
                    }
                }
                return c.controllers.stream().allMatch(x -> x.health() != null) && c.leader().isPresent();
            });
            return c;
        } catch (Exception | AssertionError e) {
            c.close();
            throw e;
        }
    }

    Optional<Controller> leader() {
        return controllers.stream().filter(x -> x.alive() && x.leader()).findFirst();
    }

    List<String> urls() {
        return controllers.stream().map(Controller::url).toList();
    }

    /** An agent in this JVM that knows every controller. */
    AgentMain agent(String name, String extra) throws Exception {
        Path agentDir = dir.resolve("agent-" + name);
        String yaml = "agent:\n"
                + "  name: " + name + "\n"
                + "  controllers: [\"" + String.join("\", \"", controllers.stream().map(Controller::agentUrl).toList()) + "\"]\n"
                + "  agentToken: " + AGENT_TOKEN + "\n"
                + "  dataDir: " + agentDir + "\n"
                + "  accel: tcg\n"
                + "  stopTimeout: 10s\n"
                + "  pollWait: 5s\n"
                + extra;
        AgentConfig cfg = ConfigLoader.parse("test", yaml, HalcyonConfig.class).agent();
        AgentMain a = AgentMain.start(cfg);
        agents.add(a);
        return a;
    }

    /** A client logged in as admin through any controller that answers. */
    ApiClient admin() throws Exception {
        Exception last = null;
        for (Controller c : controllers) {
            if (!c.alive()) {
                continue;
            }
            try {
                return new ApiClient(c.url()).login("admin", ADMIN_PASSWORD, "admin");
            } catch (Exception | AssertionError e) {
                last = new Exception(e);
            }
        }
        throw last == null ? new IllegalStateException("no controller is alive") : last;
    }

    @Override
    public void close() {
        for (AgentMain a : agents) {
            a.close();
        }
        for (Controller c : controllers) {
            if (c.process != null) {
                c.process.destroyForcibly();
                try {
                    c.process.waitFor(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        etcd.close();
        try (var s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("agent-")).toList()) {
                GuestProcesses.killAll(p);
            }
        } catch (IOException e) {
            // nothing to kill
        }
        // the controllers' logs outlive the cloud, for whoever reads a failure
        try (var s = Files.list(dir)) {
            Path keep = Files.createDirectories(Paths.work().resolve(dir.getFileName() + "-logs"));
            for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".log")).toList()) {
                Files.copy(p, keep.resolve(p.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            // nothing to keep
        }
        Files2.deleteTree(dir);
    }
}
