package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.Lab;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The lab's own promises, without a cloud on it: hosts power on and off through their BMCs with
 * ipmitool (every process of a host dies with it), freeze and thaw, are cut off and restored, are
 * listed with what tools need, and are all gone after close.
 */
class LabIT {
    static Command.Result root(String... cmd) {
        return Command.run(List.of(cmd), Map.of(), Duration.ofSeconds(30));
    }

    /** An HTTP request from the root namespace (where the controller lives) to the host's busybox httpd. */
    static boolean answers(String ip) {
        return root("curl", "-s", "--max-time", "2", "http://" + ip + ":8080/").stdout().contains("alive");
    }

    @Test
    void powerFreezeCutAndCleanUp() throws Exception {
        Files.createDirectories(Paths.work());
        Path dir = Files.createTempDirectory(Paths.work(), "lab");
        String prefix;
        try (Lab lab = Lab.create(Paths.root(), dir, 2)) {
            prefix = lab.prefix();
            for (String h : lab.hosts()) {
                Path www = lab.hostDir(h).resolve("www");
                Files.createDirectories(www);
                Files.writeString(www.resolve("index.html"), "alive " + h + "\n");
                lab.boot(h, "#!/bin/bash\nexec busybox httpd -f -p " + lab.managementIp(h) + ":8080 -h " + www + "\n");
            }
            JsonNode listed = lab.list();
            assertThat(listed.path("hosts")).hasSize(2);
            assertThat(listed.path("hosts").get(0).path("power").asText()).isEqualTo("off");
            assertThat(listed.path("hosts").get(0).path("bmc").path("endpoint").asText()).startsWith("127.0.0.1:");

            lab.powerOn("host1");
            lab.powerOn("host2");
            String ip1 = lab.managementIp("host1");
            await().atMost(Duration.ofSeconds(20)).until(() -> answers(ip1));
            assertThat(lab.host("host1").path("initPid").asLong()).isPositive();
            // the hosts reach each other on management and on the tunnel network
            assertThat(lab.exec("host2", Duration.ofSeconds(10), "busybox", "wget", "-q", "-O", "-", "http://" + ip1 + ":8080/").stdout())
                    .contains("alive host1");
            assertThat(lab.exec("host2", Duration.ofSeconds(10), "busybox", "ping", "-c", "1", "-W", "2", lab.tunnelIp("host1")).exit())
                    .isZero();

            // frozen: the network stack still answers ARP and ping, but no process runs
            lab.freeze("host1");
            assertThat(lab.host("host1").path("frozen").asBoolean()).isTrue();
            assertThat(answers(ip1)).isFalse();
            lab.thaw("host1");
            await().atMost(Duration.ofSeconds(10)).until(() -> answers(ip1));

            // cut off: nothing passes the switch
            lab.cut("host1");
            assertThat(lab.host("host1").path("cut").asBoolean()).isTrue();
            assertThat(answers(ip1)).isFalse();
            assertThat(lab.exec("host2", Duration.ofSeconds(10), "busybox", "ping", "-c", "1", "-W", "1", ip1).exit()).isNotZero();
            lab.restore("host1");
            await().atMost(Duration.ofSeconds(10)).until(() -> answers(ip1));

            // powered off through its BMC, as an outage looks: every process of the host is gone
            long init = lab.host("host1").path("initPid").asLong();
            lab.powerOff("host1");
            assertThat(Files.exists(Path.of("/proc", Long.toString(init)))).isFalse();
            assertThat(lab.host("host1").path("power").asText()).isEqualTo("off");
            assertThat(answers(ip1)).isFalse();
            // and back: a fresh boot
            lab.powerOn("host1");
            await().atMost(Duration.ofSeconds(20)).until(() -> answers(ip1));
            assertThat(lab.host("host1").path("initPid").asLong()).isNotEqualTo(init);
        }
        assertThat(root("ip", "netns", "list").stdout()).doesNotContain(prefix + "-");
        assertThat(root("ip", "link", "show", prefix + "-mgmt").exit()).isNotZero();
    }
}
