package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.OpenStackCli;
import io.halcyon.testkit.Ports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static io.halcyon.it.CliOutput.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Instance HA as a user tries it: {@code ./halcyon up --hosts 2} (every simulated host with its
 * BMC given to the cloud and its watchdog armed), an HA server from the {@code openstack} CLI, a
 * host powered off with {@code ./halcyon lab power-off}, and the story told by
 * {@code ./halcyon host events} and {@code openstack server event list}.
 */
class HaLabUpE2EIT {
    private static Path home;
    private static Map<String, String> env;
    private static OpenStackCli admin;

    @BeforeAll
    static void up() throws IOException {
        home = Files.createTempDirectory(Files.createDirectories(Paths.work()), "home");
        int port = Ports.free();
        env = Map.of("HALCYON_HOME", home.toString(), "HALCYON_PORT", Integer.toString(port), "HALCYON_JAR", Paths.jar().toString());
        var r = halcyon(Duration.ofMinutes(5), "up", "--hosts", "2");
        assertThat(r.exit()).as("./halcyon up --hosts 2: %s %s", r.stdout(), r.stderr()).isZero();
        var m = Pattern.compile("OS_PASSWORD='([^']*)'").matcher(Files.readString(home.resolve("admin-openrc.sh")));
        assertThat(m.find()).isTrue();
        admin = new OpenStackCli("http://127.0.0.1:" + port + "/identity/v3", "admin", m.group(1), "admin");
    }

    @AfterAll
    static void down() {
        if (env != null) {
            halcyon(Duration.ofMinutes(2), "down");
            Files2.deleteTree(home);
        }
    }

    static Command.Result halcyon(Duration timeout, String... args) {
        var argv = new ArrayList<>(List.of(Paths.root().resolve("halcyon").toString()));
        argv.addAll(List.of(args));
        return Command.run(argv, env, timeout);
    }

    @Test
    void anHaServerSurvivesItsHostsPowerOff() throws IOException {
        var hosts = halcyon(Duration.ofMinutes(1), "host", "list");
        assertThat(hosts.exit()).as(hosts.stderr()).isZero();
        assertThat(hosts.stdout()).contains("host1").contains("host2").contains("bmc, watchdog");

        JsonNode vm = json(admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--network", "private",
                "--property", "HA_Enabled=True", "--wait", "db1", "-f", "json"));
        assertThat(vm.path("status").asText()).isEqualTo("ACTIVE");
        String from = json(admin.ok("server", "show", "db1", "-f", "json")).path("OS-EXT-SRV-ATTR:host").asText();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                .until(() -> admin.ok("console", "log", "show", "db1").contains("halcyon-guest: ready"));

        assertThat(halcyon(Duration.ofMinutes(1), "lab", "power-off", from).exit()).isZero();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            JsonNode s = json(admin.ok("server", "show", "db1", "-f", "json"));
            return !from.equals(s.path("OS-EXT-SRV-ATTR:host").asText()) && s.path("status").asText().equals("ACTIVE");
        });
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                .until(() -> admin.ok("console", "log", "show", "db1").contains("halcyon-guest: ready"));
        String events = halcyon(Duration.ofMinutes(1), "host", "events", from).stdout();
        assertThat(events).contains("fenced").contains("BMC");
        assertThat(admin.ok("server", "event", "list", "db1", "-f", "value", "-c", "Action")).contains("evacuate");
        assertThat(halcyon(Duration.ofMinutes(1), "host", "show", from).stdout()).containsPattern("state\\s+fenced");
    }
}
