package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.EtcdProcess;
import io.halcyon.testkit.TinyImage;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * From all-in-one to HA: a populated SQLite cloud, stopped, copied into etcd with
 * {@code halcyon store migrate}, serves the same API answers from a controller on etcd; a second
 * copy onto the now non-empty etcd is refused without {@code --force}.
 */
class StoreMigrateIT {
    static final List<String> READS = List.of("/identity/v3/projects", "/identity/v3/users", "/image/v2/images",
            "/compute/v2.1/servers/detail?all_tenants=1", "/compute/v2.1/flavors/detail", "/network/v2.0/networks",
            "/network/v2.0/subnets", "/network/v2.0/ports", "/network/v2.0/security-groups", "/network/v2.0/routers");

    static Command.Result halcyon(String... args) {
        var argv = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                Paths.jar().toString()));
        argv.addAll(List.of(args));
        return Command.run(argv, Map.of(), Duration.ofMinutes(2));
    }

    static Map<String, JsonNode> answers(ApiClient api) throws Exception {
        var out = new LinkedHashMap<String, JsonNode>();
        for (String path : READS) {
            var r = api.get(path);
            assertThat(r.status()).as(path + ": " + r.raw()).isEqualTo(200);
            out.put(path, r.body());
        }
        String vol = api.volumes();
        out.put("volumes", api.get(vol + "/volumes/detail").body());
        return out;
    }

    @Test
    void anAllInOneMovesToEtcdAndAnswersTheSame() throws Exception {
        try (TestCloud cloud = TestCloud.startWithControllerProcess("");
             EtcdProcess etcd = EtcdProcess.start(cloud.dir.resolve("etcd"))) {
            var api = cloud.admin();
            assertThat(api.post("/identity/v3/projects", Map.of("project", Map.of("name", "moved"))).status()).isEqualTo(201);
            assertThat(api.post("/identity/v3/users", Map.of("user", Map.of("name", "mover", "password", "secret-pw"))).status())
                    .isEqualTo(201);
            String net = api.post("/network/v2.0/networks", Map.of("network", Map.of("name", "n1"))).body().path("network").path("id").asText();
            assertThat(api.post("/network/v2.0/subnets", Map.of("subnet", Map.of("network_id", net, "cidr", "10.9.0.0/24"))).status())
                    .isEqualTo(201);
            assertThat(api.post("/network/v2.0/ports", Map.of("port", Map.of("network_id", net))).status()).isEqualTo(201);
            String vol = api.post(api.volumes() + "/volumes", Map.of("volume", Map.of("size", 1, "name", "v1"))).body()
                    .path("volume").path("id").asText();
            await().atMost(Duration.ofSeconds(30)).until(() -> "available".equals(api.get(api.volumes() + "/volumes/" + vol).body()
                    .path("volume").path("status").asText()));
            String server = api.createServer("s1", "1", api.imageId("tiny"));
            await().atMost(Duration.ofSeconds(30)).until(() -> !"BUILD".equals(api.server(server).path("status").asText()));
            Map<String, JsonNode> before = answers(api);
            cloud.controllerProcess.close();

            Path db = cloud.dir.resolve("data").resolve("halcyon.db");
            String to = "etcd://" + etcd.endpoint().substring("http://".length());
            Command.Result r = halcyon("store", "migrate", "--from", "sqlite:" + db, "--to", to);
            assertThat(r.exit()).as(r.stderr()).isZero();
            assertThat(r.stdout()).contains("verified");
            // etcd now holds a cloud: a second copy is refused, and changes nothing
            Command.Result again = halcyon("store", "migrate", "--from", "sqlite:" + db, "--to", to);
            assertThat(again.exit()).isNotZero();
            assertThat(again.stderr()).contains("refusing to overwrite").contains("--force");
            assertThat(halcyon("store", "migrate", "--from", "sqlite:/nonexistent/halcyon.db", "--to", to).stderr())
                    .contains("there is no store at");

            // the same cloud, now on etcd, on the same port and data directory
            Path image = TinyImage.ensure(Paths.root(), Paths.work());
            Path config = cloud.dir.resolve("etcd-controller.yaml");
            Files.writeString(config, "controller:\n"
                    + "  dataDir: " + cloud.dir.resolve("data") + "\n"
                    + "  api: {port: " + cloud.port + "}\n"
                    + "  agentApi: {port: " + cloud.agentPort + "}\n"
                    + "  store: {backend: etcd, etcdEndpoints: [\"" + etcd.endpoint() + "\"]}\n"
                    // the key that sealed its secrets on sqlite goes with the cloud
                    + "  secretKeyFile: " + cloud.dir.resolve("data").resolve("secret.key") + "\n"
                    + "  adminPassword: " + TestCloud.ADMIN_PASSWORD + "\n"
                    + "  agentToken: " + TestCloud.AGENT_TOKEN + "\n"
                    + "  bootstrap:\n"
                    + "    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                    + "    images: [{name: tiny, file: " + image + ", diskFormat: qcow2}]\n");
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                    Paths.jar().toString(), "serve", "--config", config.toString()).redirectErrorStream(true)
                    .redirectOutput(cloud.dir.resolve("etcd-controller.log").toFile()).start();
            try {
                await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).ignoreExceptions()
                        .until(() -> cloud.admin() != null);
                Map<String, JsonNode> after = answers(cloud.admin());
                for (String k : before.keySet()) {
                    assertThat(after.get(k)).as(k).isEqualTo(before.get(k));
                }
            } finally {
                p.destroy();
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }
}
