package io.halcyon.it;

import io.halcyon.testkit.GuestProcesses;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Instance-level HA on one host with real TCG guests: an HA guest whose QEMU is killed is
 * restarted in place, a plain one stays SHUTOFF; an HA guest whose i6300esb watchdog fires (its
 * user data enables the device and never pets it, on every boot) is restarted in place until the
 * restart limit (3 in 10 minutes), then left off, in ERROR with the reason.
 */
class InstanceRestartIT {
    static TestCloud cloud;
    static ApiClient api;
    static String image;

    @BeforeAll
    static void start() throws Exception {
        cloud = TestCloud.startWithHost("h1");
        api = cloud.admin();
        image = api.imageId("tiny");
    }

    @AfterAll
    static void stop() {
        if (cloud != null) {
            cloud.close();
        }
    }

    static String boot(String name, String flavor, Map<String, String> metadata, String userData) throws Exception {
        var body = new java.util.HashMap<String, Object>(Map.of("name", name, "flavorRef", flavor, "imageRef", image, "metadata", metadata));
        if (userData != null) {
            body.put("user_data", Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8)));
        }
        var r = api.post("/compute/v2.1/servers", Map.of("server", body));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("server").path("id").asText();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> readyLines(id) >= 1);
        return id;
    }

    static String console(String id) throws Exception {
        return api.post("/compute/v2.1/servers/" + id + "/action", Map.of("os-getConsoleOutput", Map.of())).body().path("output").asText();
    }

    static int readyLines(String id) throws Exception {
        var m = Pattern.compile("halcyon-guest: ready").matcher(console(id));
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    static String status(String id) throws Exception {
        return api.server(id).path("status").asText();
    }

    static long qemuPid(String id) {
        return GuestProcesses.pid(cloud.dir.resolve("agent-h1"), id);
    }

    @Test
    void aDeadQemuIsRestartedInPlaceForAnHaGuestOnly() throws Exception {
        String ha = boot("ha", "1", Map.of("HA_Enabled", "True"), null);
        String plain = boot("plain", "1", Map.of(), null);
        long haPid = qemuPid(ha);
        new ProcessBuilder("kill", "-KILL", Long.toString(haPid)).start().waitFor();
        new ProcessBuilder("kill", "-KILL", Long.toString(qemuPid(plain))).start().waitFor();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> readyLines(ha) >= 2 && qemuPid(ha) > 0);
        assertThat(qemuPid(ha)).isNotEqualTo(haPid);
        assertThat(status(ha)).isEqualTo("ACTIVE");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> "SHUTOFF".equals(status(plain)));
    }

    /**
     * Enables the i6300esb through its PCI configuration space and never pets it: the configuration
     * register (0x60) takes a 16-bit write (1 MHz scale: each stage about 1 s), the lock register
     * (0x68) a byte with the enable bit. The guest's kernel has no driver for it; none is needed.
     */
    static final String ARM_WATCHDOG = "#!/bin/sh\n"
            + "for d in /sys/bus/pci/devices/*; do\n"
            + "  if [ \"$(cat $d/vendor)\" = 0x8086 ] && [ \"$(cat $d/device)\" = 0x25ab ]; then\n"
            + "    printf '\\004\\000' | dd of=$d/config bs=2 seek=48 count=1 conv=notrunc 2>/dev/null\n"
            + "    printf '\\002' | dd of=$d/config bs=1 seek=104 count=1 conv=notrunc 2>/dev/null\n"
            + "    echo \"watchdog armed\"\n"
            + "  fi\n"
            + "done\n";

    @Test
    void aGuestWhoseWatchdogFiresIsRestartedInPlaceUpToTheLimit() throws Exception {
        var flavor = api.post("/compute/v2.1/flavors", Map.of("flavor", Map.of("name", "wd", "ram", 128, "vcpus", 1, "disk", 1)));
        assertThat(flavor.status()).as(flavor.raw()).isEqualTo(200);
        String fid = flavor.body().path("flavor").path("id").asText();
        assertThat(api.post("/compute/v2.1/flavors/" + fid + "/os-extra_specs",
                Map.of("extra_specs", Map.of("hw:watchdog_action", "reset"))).status()).isEqualTo(200);
        assertThat(api.post("/compute/v2.1/flavors/" + fid + "/os-extra_specs",
                Map.of("extra_specs", Map.of("hw:watchdog_action", "explode"))).status()).isEqualTo(400);
        String id = boot("wd", fid, Map.of("HA_Enabled", "True"), ARM_WATCHDOG);
        // it fires on every boot: three restarts in place, then it is left off, in ERROR with the reason
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> "ERROR".equals(status(id)));
        assertThat(readyLines(id)).isEqualTo(4);
        assertThat(api.server(id).path("fault").path("message").asText()).contains("restart limit");
    }
}
