package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.Files2;
import io.halcyon.testkit.GuestProcesses;
import io.halcyon.testkit.OpenStackCli;
import io.halcyon.testkit.Ports;
import io.halcyon.testkit.TinyImage;
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

import static io.halcyon.it.CliOutput.fails;
import static io.halcyon.it.CliOutput.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The acceptance scenario end to end: {@code ./halcyon up} on a fresh home, then Debian's real
 * {@code openstack} CLI for identity, flavors, images and a real QEMU guest through its lifecycle,
 * and project isolation. {@code ./halcyon down} at the end, whatever happened.
 */
class OpenStackCliE2EIT {
    private static Path home;
    private static Map<String, String> env;
    private static OpenStackCli admin;

    @BeforeAll
    static void up() throws IOException {
        home = Files.createTempDirectory(Paths.work().getParent() == null ? Path.of("/tmp") : Files.createDirectories(Paths.work()), "home");
        int port = Ports.free();
        env = Map.of("HALCYON_HOME", home.toString(), "HALCYON_PORT", Integer.toString(port), "HALCYON_JAR", Paths.jar().toString());
        var r = Command.run(List.of(Paths.root().resolve("halcyon").toString(), "up"), env, Duration.ofMinutes(5));
        assertThat(r.exit()).as("./halcyon up: %s %s", r.stdout(), r.stderr()).isZero();
        assertThat(r.stdout()).contains("Halcyon is up");
        admin = OpenStackCli.fromOpenrc(home.resolve("admin-openrc.sh"));
        assertThat(admin.baseUrl()).as("the API is served over TLS").isEqualTo("https://127.0.0.1:" + port);
        assertThat(admin.caCert()).isEqualTo(home.resolve("tls/ca.pem").toString());
    }

    @AfterAll
    static void down() {
        if (env != null) {
            Command.run(List.of(Paths.root().resolve("halcyon").toString(), "down"), env, Duration.ofMinutes(2));
            GuestProcesses.killAll(home.resolve("agent"));
            Files2.deleteTree(home);
        }
    }


    @Test
    void theWholeScenarioWithTheRealCli() throws IOException {
        // identity
        JsonNode token = json(admin.ok("token", "issue", "-f", "json"));
        assertThat(token.path("id").asText()).startsWith("hc1.");
        assertThat(admin.ok("catalog", "list")).contains("compute").contains("identity").contains("image");
        admin.ok("project", "create", "demo");
        admin.ok("project", "create", "other");
        admin.ok("user", "create", "--project", "demo", "--password", "demo-pass", "alice");
        admin.ok("user", "create", "--project", "other", "--password", "other-pass", "bob");
        admin.ok("role", "add", "--user", "alice", "--project", "demo", "member");
        admin.ok("role", "add", "--user", "bob", "--project", "other", "member");
        assertThat(admin.ok("project", "list", "-f", "value", "-c", "Name")).contains("demo", "other", "admin");

        // flavors
        admin.ok("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", "m1.e2e");
        assertThat(admin.ok("flavor", "list", "-f", "value", "-c", "Name")).contains("m1.e2e", "m1.tiny", "m1.small");

        // images: create from a file, list, show, delete
        Path raw = Files.createTempFile(Paths.work(), "blob", ".raw");
        Files.write(raw, new byte[1 << 20]);
        admin.ok("image", "create", "--file", raw.toString(), "--disk-format", "raw", "--container-format", "bare", "blob");
        JsonNode shown = json(admin.ok("image", "show", "blob", "-f", "json"));
        assertThat(shown.path("status").asText()).isEqualTo("active");
        assertThat(shown.path("size").asLong()).isEqualTo(1 << 20);
        assertThat(shown.path("checksum").asText()).isEqualTo("b6d81b360a5672d80c27430f39153e2c");
        assertThat(admin.ok("image", "list", "-f", "value", "-c", "Name")).contains("blob", "tiny");
        Path saved = Files.createTempFile(Paths.work(), "blob", ".saved");
        admin.ok("image", "save", "--file", saved.toString(), "blob");
        assertThat(Files.readAllBytes(saved)).isEqualTo(Files.readAllBytes(raw));
        Files.delete(raw);
        Files.delete(saved);
        admin.ok("image", "delete", "blob");
        assertThat(admin.ok("image", "list", "-f", "value", "-c", "Name")).doesNotContain("blob");

        // a real guest through its lifecycle, as a project member
        OpenStackCli alice = admin.as("alice", "demo-pass", "demo");
        JsonNode vm = json(alice.ok("server", "create", "--flavor", "m1.e2e", "--image", "tiny", "--wait", "vm1", "-f", "json"));
        String id = vm.path("id").asText();
        assertThat(vm.path("status").asText()).isEqualTo("ACTIVE");
        assertThat(alice.ok("server", "list", "-f", "value", "-c", "Name", "-c", "Status")).contains("vm1 ACTIVE");
        JsonNode show = json(alice.ok("server", "show", "vm1", "-f", "json"));
        assertThat(show.path("flavor").asText()).contains("m1.e2e");
        assertThat(show.path("image").asText()).contains("tiny");
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1))
                .until(() -> alice.ok("console", "log", "show", "vm1").contains("halcyon-guest: ready"));

        alice.ok("server", "stop", "vm1");
        awaitStatus(alice, "vm1", "SHUTOFF");
        alice.ok("server", "start", "vm1");
        awaitStatus(alice, "vm1", "ACTIVE");
        alice.ok("server", "reboot", "vm1");
        awaitStatus(alice, "vm1", "ACTIVE");
        alice.ok("server", "reboot", "--hard", "vm1");
        awaitStatus(alice, "vm1", "ACTIVE");
        String events = alice.ok("server", "event", "list", "vm1", "-f", "value", "-c", "Action");
        assertThat(events.lines().toList()).containsExactlyInAnyOrder("create", "stop", "start", "reboot", "reboot");

        // another project's user sees nothing and can touch nothing
        OpenStackCli bob = admin.as("bob", "other-pass", "other");
        assertThat(bob.ok("server", "list", "-f", "value")).isBlank();
        var showByBob = bob.run("server", "show", id);
        assertThat(showByBob.exit()).isNotZero();
        assertThat(showByBob.stderr()).contains("No server with a name or ID of '" + id + "' exists");
        var deleteByBob = bob.run("server", "delete", id);
        assertThat(deleteByBob.exit()).isNotZero();
        var stopByBob = bob.run("server", "stop", id);
        assertThat(stopByBob.exit()).isNotZero();
        assertThat(alice.ok("server", "show", "vm1", "-f", "value", "-c", "status").trim()).isEqualTo("ACTIVE");

        // delete waits for the 404
        alice.ok("server", "delete", "--wait", "vm1");
        assertThat(alice.ok("server", "list", "-f", "value")).isBlank();
        await().atMost(Duration.ofSeconds(30)).until(() -> GuestProcesses.all(home.resolve("agent")).isEmpty());
    }

    @Test
    void serverGroupsWithTheOpenstackCliAndHostHaWithTheHalcyonCli() throws IOException {
        JsonNode g = json(admin.ok("server", "group", "create", "--policy", "anti-affinity", "web", "-f", "json"));
        String gid = g.path("id").asText();
        assertThat(g.toString()).contains("anti-affinity");
        JsonNode a = json(admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--hint", "group=" + gid, "--wait", "ga",
                "-f", "json"));
        assertThat(a.path("status").asText()).isEqualTo("ACTIVE");
        // one host: a second member of an anti-affinity group has nowhere to go (this CLI's --wait exits 0 even then)
        admin.run("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--hint", "group=" + gid, "--wait", "gb");
        JsonNode gb = json(admin.ok("server", "show", "gb", "-f", "json"));
        assertThat(gb.path("status").asText()).isEqualTo("ERROR");
        assertThat(gb.path("fault").toString()).contains("No valid host");
        assertThat(admin.ok("server", "group", "show", "web", "-f", "json")).contains(a.path("id").asText());
        assertThat(admin.ok("server", "group", "list", "-f", "value", "-c", "Name")).contains("web");

        // the halcyon CLI as the administrator: host states, maintenance, the cluster switch
        String host = json(admin.ok("server", "show", "ga", "-f", "json")).path("OS-EXT-SRV-ATTR:host").asText();
        var list = halcyon("host", "list");
        assertThat(list.exit()).as(list.stderr()).isZero();
        assertThat(list.stdout()).contains(host).contains("up");
        var on = halcyon("host", "maintenance", "on", host);
        assertThat(on.exit()).as(on.stderr()).isZero();
        assertThat(on.stdout()).contains("maintenance").contains("true");
        await().atMost(Duration.ofSeconds(10)).until(() -> halcyon("host", "show", host).stdout().matches("(?s).*state\\s+maintenance.*"));
        admin.run("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--wait", "gc");
        assertThat(json(admin.ok("server", "show", "gc", "-f", "json")).path("status").asText()).as("no host takes new guests in maintenance")
                .isEqualTo("ERROR");
        assertThat(halcyon("host", "maintenance", "off", host).exit()).isZero();
        assertThat(halcyon("host", "events", host).stdout()).contains("maintenance");
        var bad = halcyon("host", "maintenance", "maybe", host);
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.stderr().strip().lines().count()).isEqualTo(1);
        assertThat(bad.stderr()).contains("expected on or off");
        var unknown = halcyon("host", "show", "no-such-host");
        assertThat(unknown.exit()).isNotZero();
        assertThat(unknown.stderr()).contains("could not be found");
        var status = halcyon("ha", "status", "--format", "json");
        assertThat(status.exit()).isZero();
        assertThat(json(status.stdout()).path("ha").path("disarmed").asBoolean()).isFalse();

        admin.ok("server", "delete", "--wait", "ga", "gb", "gc");
        admin.ok("server", "group", "delete", "web");
        assertThat(admin.ok("server", "group", "list", "-f", "value")).isBlank();
    }

    /**
     * Everything the cloud writes is for its own user: every directory under its home and its run
     * directory is 0700 and no file has a group or other bit, and a local user ("nobody") can open
     * none of it, the store, the secret key, images, disks, snapshots and config drives included.
     */
    @Test
    void aLocalUserCanReadNothingTheCloudWrites() throws Exception {
        Path raw = Files.createTempFile(Paths.work(), "img", ".raw");
        Files.write(raw, new byte[65536]);
        admin.ok("image", "create", "--file", raw.toString(), "--disk-format", "raw", "--container-format", "bare", "private-bits");
        Files.delete(raw);
        String vol = json(admin.ok("volume", "create", "--size", "1", "secrets", "-f", "json")).path("id").asText();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                .until(() -> admin.ok("volume", "show", vol, "-f", "value", "-c", "status").trim().equals("available"));
        admin.ok("volume", "snapshot", "create", "--volume", vol, "secrets-snap");
        Path userData = Files.createTempFile(Paths.work(), "ud", ".sh");
        Files.writeString(userData, "#!/bin/sh\necho password=hunter2\n");
        admin.ok("server", "create", "--flavor", "m1.tiny", "--image", "tiny", "--user-data", userData.toString(), "--wait", "private-vm");
        Files.delete(userData);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                .until(() -> admin.ok("volume", "snapshot", "show", "secrets-snap", "-f", "value", "-c", "status").trim().equals("available"));

        String hash = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5")
                .digest(home.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8))).substring(0, 8);
        Path run = Path.of("/run/halcyon", hash);
        var loose = new ArrayList<String>();
        var files = new ArrayList<String>();
        for (Path top : List.of(home, run)) {
            assertThat(top).isDirectory();
            try (var all = Files.walk(top)) {
                for (Path p : (Iterable<Path>) all::iterator) {
                    if (Files.isSymbolicLink(p)) {
                        continue;
                    }
                    String mode = java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS));
                    if (Files.isDirectory(p) ? !mode.equals("rwx------") : !mode.endsWith("------")) {
                        loose.add(mode + " " + p);
                    }
                    if (Files.isRegularFile(p)) {
                        files.add(p.toString());
                    }
                }
            }
        }
        assertThat(loose).as("open to other users").isEmpty();
        assertThat(files).anyMatch(f -> f.endsWith("halcyon.db")).anyMatch(f -> f.endsWith("secret.key"))
                .anyMatch(f -> f.endsWith("config.img")).anyMatch(f -> f.contains("/images/"));
        // and as a local user: not one of them opens
        Path list = Files.createTempFile(Path.of("/tmp"), "paths", ".txt");
        try {
            Files.write(list, files);
            Files.setPosixFilePermissions(list, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            var r = Command.run(List.of("runuser", "-u", "nobody", "--", "sh", "-c",
                    "n=0; while read -r f; do n=$((n+1)); if head -c 1 \"$f\" > /dev/null 2>&1; then echo \"READABLE $f\"; fi; done < "
                            + list + "; echo tried $n"), Map.of(), Duration.ofMinutes(2));
            assertThat(r.stdout()).doesNotContain("READABLE").contains("tried " + files.size());
        } finally {
            Files.deleteIfExists(list);
        }
        admin.ok("server", "delete", "--wait", "private-vm");
        admin.ok("volume", "snapshot", "delete", "secrets-snap");
    }

    /** A run directory someone else made first (to own the sockets the cloud writes through) stops up, which says why. */
    @Test
    void aRunDirectoryAnotherUserMadeFirstIsRefused() throws Exception {
        Path other = Files.createTempDirectory(Paths.work(), "home3");
        String hash = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5")
                .digest(other.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8))).substring(0, 8);
        Path squatted = Files.createDirectories(Path.of("/run/halcyon", hash));
        try {
            Files.setAttribute(squatted, "unix:uid", 65534);
            var env3 = Map.of("HALCYON_HOME", other.toString(), "HALCYON_PORT", Integer.toString(Ports.free()), "HALCYON_JAR",
                    Paths.jar().toString());
            var r = Command.run(List.of(Paths.root().resolve("halcyon").toString(), "up"), env3, Duration.ofMinutes(2));
            assertThat(r.exit()).isNotZero();
            assertThat(r.stderr()).contains(squatted.toString()).contains("belongs to").contains("remove it");
            assertThat(other.resolve("halcyon.pid")).doesNotExist();
        } finally {
            Files2.deleteTree(squatted);
            Files2.deleteTree(other);
        }
    }

    private static Command.Result halcyon(String... args) {
        var argv = new java.util.ArrayList<>(List.of(Paths.root().resolve("halcyon").toString()));
        argv.addAll(List.of(args));
        return Command.run(argv, env, Duration.ofMinutes(1));
    }

    @Test
    void aSecondCloudRunsBesideTheFirst() throws IOException {
        Path second = Files.createTempDirectory(Paths.work(), "home2");
        var env2 = Map.of("HALCYON_HOME", second.toString(), "HALCYON_PORT", Integer.toString(Ports.free()), "HALCYON_JAR",
                Paths.jar().toString());
        String script = Paths.root().resolve("halcyon").toString();
        try {
            // the second one on a throw-away local Ceph
            var up = Command.run(List.of(script, "up", "--ceph"), env2, Duration.ofMinutes(5));
            assertThat(up.exit()).as(up.stderr()).isZero();
            assertThat(Command.run(List.of(script, "status"), env2, Duration.ofMinutes(1)).stdout()).contains("running").contains("\"hostsUp\":1");
            assertThat(Command.run(List.of(script, "status"), env, Duration.ofMinutes(1)).stdout()).contains("running");
            var again = Command.run(List.of(script, "up"), env2, Duration.ofMinutes(5));
            assertThat(again.stdout()).contains("already running");
            var admin2 = OpenStackCli.fromOpenrc(second.resolve("admin-openrc.sh"));
            String vol = json(admin2.ok("volume", "create", "--size", "1", "oncephvol", "-f", "json")).path("id").asText();
            assertThat(json(admin2.ok("volume", "show", vol, "-f", "json")).path("type").asText()).isEqualTo("ceph");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1))
                    .until(() -> admin2.ok("volume", "show", vol, "-f", "value", "-c", "status").trim().equals("available"));
            var images = Command.run(List.of("rbd", "-c", second.resolve("ceph/ceph.conf").toString(), "ls"), Map.of(), Duration.ofMinutes(1));
            assertThat(images.stdout()).contains("volume-" + vol);
            // the first cloud has no Ceph: --ceph refuses to change it
            var refused = Command.run(List.of(script, "up", "--ceph"), env, Duration.ofMinutes(1));
            assertThat(refused.exit()).isNotZero();
            assertThat(refused.stderr()).contains("--ceph makes a new cloud");
        } finally {
            Command.run(List.of(script, "down"), env2, Duration.ofMinutes(2));
            GuestProcesses.killAll(second.resolve("agent"));
            Files2.deleteTree(second);
        }
        var stopped = Command.run(List.of(script, "status"), env2, Duration.ofMinutes(1));
        assertThat(stopped.exit()).isEqualTo(3);
        assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains(second.resolve("ceph").toString())))
                .as("down stops the test Ceph").isEmpty();
        assertThat(Command.run(List.of(script, "up", "--port", "x"), env2, Duration.ofMinutes(1)).exit()).isNotZero();
        Files2.deleteTree(second);
    }

    private static void awaitStatus(OpenStackCli cli, String server, String status) {
        var seen = new ArrayList<String>();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            JsonNode s = json(cli.ok("server", "show", server, "-f", "json"));
            seen.add(s.path("status").asText() + "/" + s.path("OS-EXT-STS:task_state").asText());
            return s.path("status").asText().equals(status) && s.path("OS-EXT-STS:task_state").isNull();
        });
    }
}
