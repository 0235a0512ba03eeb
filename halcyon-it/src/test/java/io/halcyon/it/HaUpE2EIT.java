package io.halcyon.it;

import io.halcyon.testkit.Command;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.GuestProcesses;
import io.halcyon.testkit.OpenStackCli;
import io.halcyon.testkit.Ports;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ./halcyon up --controllers 3} on a fresh home: three controllers on a three-member etcd
 * behind HAProxy, the local agent knowing all three; the real CLI keeps working when a controller
 * is killed, {@code ./halcyon cluster status} says so, and {@code ./halcyon down} stops it all.
 */
class HaUpE2EIT {
    static Command.Result halcyon(Map<String, String> env, String... args) {
        var argv = new java.util.ArrayList<>(List.of(Paths.root().resolve("halcyon").toString()));
        argv.addAll(List.of(args));
        return Command.run(argv, env, Duration.ofMinutes(5));
    }

    @Test
    void threeControllersBehindHaproxyFromOneCommand() throws Exception {
        Path home = Files.createTempDirectory(Files.createDirectories(Paths.work()), "hahome");
        int port = Ports.free();
        var env = Map.of("HALCYON_HOME", home.toString(), "HALCYON_PORT", Integer.toString(port), "HALCYON_JAR", Paths.jar().toString());
        try {
            var up = halcyon(env, "up", "--controllers", "3");
            assertThat(up.exit()).as("./halcyon up --controllers 3: %s %s", up.stdout(), up.stderr()).isZero();
            assertThat(up.stdout()).contains("Three controllers on a three-member etcd").contains("Halcyon is up");
            var status = halcyon(env, "cluster", "status", "--format", "json");
            assertThat(status.exit()).as(status.stdout() + status.stderr()).isZero();
            assertThat(status.stdout()).contains("\"healthy\" : true");
            var cli = OpenStackCli.fromOpenrc(home.resolve("admin-openrc.sh"));
            assertThat(cli.baseUrl()).isEqualTo("https://127.0.0.1:" + port);
            assertThat(cli.ok("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--wait", "vm1", "-f", "value", "-c", "status")
                    .trim()).isEqualTo("ACTIVE");
            // a controller killed: the CLI goes on through HAProxy; the status says what is wrong
            long pid = Long.parseLong(Files.readString(home.resolve("ha/controller-1.pid")).trim());
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            for (int i = 0; i < 5; i++) {
                assertThat(cli.ok("server", "list", "-f", "value", "-c", "Name")).contains("vm1");
            }
            assertThat(cli.ok("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--wait", "vm2", "-f", "value", "-c", "status")
                    .trim()).isEqualTo("ACTIVE");
            var degraded = halcyon(env, "cluster", "status");
            assertThat(degraded.exit()).isEqualTo(1);
            assertThat(degraded.stdout()).contains("does not answer");

            // OVN's northbound database is a 3-member Raft cluster: kill its leader, networking still converges
            Path run = Path.of("/run/halcyon", java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5")
                    .digest(home.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8))).substring(0, 8));
            var haEnv = Files.readString(home.resolve("ha/ha.env"));
            var ports = Pattern.compile("OVN_NB_PORTS=\"([0-9 ]+)\"").matcher(haEnv);
            assertThat(ports.find()).isTrue();
            String nb = String.join(",", java.util.Arrays.stream(ports.group(1).split(" ")).map(x -> "tcp:127.0.0.1:" + x).toList());
            String leader = null;
            for (int i = 0; i < 3; i++) {
                var st = Command.run(List.of("ovs-appctl", "-t", run.resolve("nb" + i + ".ctl").toString(), "cluster/status", "OVN_Northbound"),
                        Map.of(), Duration.ofSeconds(10));
                if (st.stdout().contains("Role: leader")) {
                    leader = "nb" + i;
                }
            }
            assertThat(leader).as("a northbound Raft leader").isNotNull();
            long nbPid = Long.parseLong(Files.readString(run.resolve(leader + ".pid")).trim());
            ProcessHandle.of(nbPid).ifPresent(ProcessHandle::destroyForcibly);
            String net = cli.ok("network", "create", "ha-net", "-f", "value", "-c", "id").trim();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() ->
                    Command.run(List.of("ovn-nbctl", "--db=" + nb, "ls-list"), Map.of(), Duration.ofSeconds(10)).stdout()
                            .contains("neutron-" + net));
        } finally {
            halcyon(env, "down");
            GuestProcesses.killAll(home.resolve("agent"));
            Files2.deleteTree(home);
        }
    }
}
