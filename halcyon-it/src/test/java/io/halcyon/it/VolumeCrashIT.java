package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.testkit.Command;
import io.halcyon.testkit.DiskProbe;
import io.halcyon.testkit.GuestProcesses;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * kill -9 of the controller and of the agent in the middle of volume create, attach, detach and
 * delete, at random moments (the seed is printed). After each restart every volume must reach a
 * stable state, the storage must hold exactly the files of the volumes that exist, and what the
 * guest sees plugged in (its console, from {@code disk-probe.sh}) must be exactly what the API
 * says is attached to it. Volumes keep what the guest wrote to them.
 */
class VolumeCrashIT {
    private static final Set<String> STABLE = Set.of("available", "in-use");
    private static final Pattern DISK_EVENT = Pattern.compile("^user-data: disk([+-]) (\\S+)(?: \\S+ data=(\\S*))?", Pattern.MULTILINE);

    @Test
    void controllerKilledMidWayLeavesEveryVolumeStableAndConsistent() throws Exception {
        long seed = System.nanoTime();
        System.out.println("VolumeCrashIT controller seed=" + seed);
        var rnd = new Random(seed);
        try (var cloud = TestCloud.startWithControllerProcess("")) {
            cloud.agentProcess("h1", "");
            await().atMost(Duration.ofSeconds(60)).until(() -> cloud.hostUp("h1"));
            ApiClient api = cloud.admin();
            String vm = bootProbe(api, "vm", null);
            String image = api.imageId("tiny");
            var seen = new LinkedHashMap<String, String>();
            for (int round = 0; round < 4; round++) {
                Map<String, JsonNode> before = volumes(api);
                ExecutorService pool = Executors.newFixedThreadPool(6);
                ApiClient client = api;
                pool.execute(() -> quietly(() -> createVolume(client, 1, null)));
                pool.execute(() -> quietly(() -> createVolume(client, 1, image)));
                pool.execute(() -> quietly(() -> createVolume(client, 1, null)));
                List<String> available = withStatus(before, "available");
                List<String> inUse = withStatus(before, "in-use");
                if (!available.isEmpty()) {
                    String v = available.remove(rnd.nextInt(available.size()));
                    pool.execute(() -> quietly(() -> attach(client, vm, v)));
                }
                if (!available.isEmpty()) {
                    String v = available.remove(rnd.nextInt(available.size()));
                    pool.execute(() -> quietly(() -> client.delete(client.volumes() + "/volumes/" + v)));
                }
                if (!inUse.isEmpty()) {
                    String v = inUse.get(rnd.nextInt(inUse.size()));
                    pool.execute(() -> quietly(() -> client.delete("/compute/v2.1/servers/" + vm + "/os-volume_attachments/" + v)));
                }
                Thread.sleep(rnd.nextInt(400));
                cloud.controllerProcess.kill9();
                pool.shutdown();
                assertThat(pool.awaitTermination(90, TimeUnit.SECONDS)).isTrue();
                cloud.controllerProcess.start().awaitServing();
                api = cloud.admin();
                awaitStableAndConsistent(api, cloud.dir, vm, seen, "round " + round + " seed " + seed);
            }
            assertThat(volumes(api)).as("volumes were made").isNotEmpty();
            // one volume the guest surely wrote on, whatever the random rounds left behind
            ApiClient last = api;
            String marked = createVolume(api, 1, null);
            await().atMost(Duration.ofSeconds(60)).until(() -> "available".equals(status(last, marked)));
            attach(api, vm, marked);
            String serial = marked.substring(0, 20);
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> {
                guestDisks(console(last, vm), seen);
                return ("halcyon-" + serial).equals(seen.get(serial));
            });
            await().atMost(Duration.ofSeconds(60)).until(() -> "in-use".equals(status(last, marked)));
            for (String v : withStatus(volumes(api), "in-use")) {
                assertThat(api.delete("/compute/v2.1/servers/" + vm + "/os-volume_attachments/" + v).status()).isEqualTo(202);
            }
            awaitStableAndConsistent(api, cloud.dir, vm, seen, "after detaching all, seed " + seed);
            assertDataKept(api, cloud.dir, seen);
            assertNoTemporaryFiles(cloud.dir);
        }
    }

    @Test
    void agentKilledMidWayLeavesTheGuestAndTheApiAgreeing() throws Exception {
        long seed = System.nanoTime();
        System.out.println("VolumeCrashIT agent seed=" + seed);
        var rnd = new Random(seed);
        try (var cloud = TestCloud.start("")) {
            var agent = cloud.agentProcess("h1", "");
            await().atMost(Duration.ofSeconds(60)).until(() -> cloud.hostUp("h1"));
            ApiClient api = cloud.admin();
            var ids = new ArrayList<String>();
            for (int i = 0; i < 5; i++) {
                ids.add(createVolume(api, 1, null));
            }
            for (String id : ids) {
                await().atMost(Duration.ofSeconds(60)).until(() -> "available".equals(status(api, id)));
            }
            // create: the agent dies while starting a guest that boots with a volume
            String vm = bootProbe(api, "vm", ids.get(0));
            Thread.sleep(rnd.nextInt(300));
            agent.kill9();
            agent.start();
            await().atMost(Duration.ofSeconds(120)).until(() -> "ACTIVE".equals(api.server(vm).path("status").asText()));
            var seen = new LinkedHashMap<String, String>();
            awaitStableAndConsistent(api, cloud.dir, vm, seen, "create seed " + seed);
            assertThat(status(api, ids.get(0))).isEqualTo("in-use");

            for (int round = 0; round < 4; round++) {
                Map<String, JsonNode> before = volumes(api);
                List<String> available = withStatus(before, "available");
                List<String> inUse = withStatus(before, "in-use");
                ExecutorService pool = Executors.newFixedThreadPool(3);
                for (int i = 0; i < 2 && !available.isEmpty(); i++) {
                    String v = available.remove(rnd.nextInt(available.size()));
                    pool.execute(() -> quietly(() -> attach(api, vm, v)));
                }
                if (!inUse.isEmpty()) {
                    String v = inUse.get(rnd.nextInt(inUse.size()));
                    pool.execute(() -> quietly(() -> api.delete("/compute/v2.1/servers/" + vm + "/os-volume_attachments/" + v)));
                }
                Thread.sleep(rnd.nextInt(500));
                agent.kill9();
                Thread.sleep(rnd.nextInt(500));
                agent.start();
                pool.shutdown();
                assertThat(pool.awaitTermination(90, TimeUnit.SECONDS)).isTrue();
                awaitStableAndConsistent(api, cloud.dir, vm, seen, "round " + round + " seed " + seed);
            }

            // delete: the agent dies while removing the guest; its volumes are let go, its root disk removed
            assertThat(api.delete("/compute/v2.1/servers/" + vm).status()).isEqualTo(204);
            Thread.sleep(rnd.nextInt(300));
            agent.kill9();
            agent.start();
            await().atMost(Duration.ofSeconds(90)).until(() -> api.server(vm) == null);
            await().atMost(Duration.ofSeconds(30)).until(() -> withStatus(volumes(api), "available").size() == ids.size());
            await().atMost(Duration.ofSeconds(30)).until(() -> GuestProcesses.all(agent.dir).isEmpty());
            await().atMost(Duration.ofSeconds(30)).until(() -> !StorageFiles.ids(cloud.dir, "servers").contains(vm));
            assertThat(StorageFiles.ids(cloud.dir, "volumes")).isEqualTo(new TreeSet<>(ids));
            assertDataKept(api, cloud.dir, seen);
        }
    }

    private interface Call {
        Object run() throws Exception;
    }

    /** A request that may be cut off by the crash: it may or may not have been acknowledged, both are fine. */
    private static void quietly(Call c) {
        try {
            c.run();
        } catch (Exception ignored) {
            // connection refused or reset by the kill
        }
    }

    /** A server running the disk probe (writing "halcyon-SERIAL" to every blank disk), optionally with a volume from boot. */
    static String bootProbe(ApiClient api, String name, String volumeId) throws Exception {
        var server = new LinkedHashMap<String, Object>();
        server.put("name", name);
        server.put("flavorRef", "1");
        server.put("imageRef", api.imageId("tiny"));
        server.put("user_data", Base64.getEncoder().encodeToString(DiskProbe.script("*", null, 100_000).getBytes(StandardCharsets.UTF_8)));
        if (volumeId != null) {
            server.put("block_device_mapping_v2", List.of(Map.of("uuid", volumeId, "source_type", "volume", "destination_type", "volume",
                    "boot_index", -1)));
        }
        var r = api.post("/compute/v2.1/servers", Map.of("server", server));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        String id = r.body().path("server").path("id").asText();
        if (volumeId == null) {
            await().atMost(Duration.ofSeconds(120)).until(() -> "ACTIVE".equals(api.server(id).path("status").asText()));
            await().atMost(Duration.ofSeconds(60)).until(() -> console(api, id).contains("halcyon-guest: ready"));
        }
        return id;
    }

    static String createVolume(ApiClient api, int sizeGb, String imageRef) throws Exception {
        var v = new LinkedHashMap<String, Object>();
        v.put("size", sizeGb);
        if (imageRef != null) {
            v.put("imageRef", imageRef);
        }
        var r = api.post(api.volumes() + "/volumes", Map.of("volume", v));
        assertThat(r.status()).as(r.raw()).isEqualTo(202);
        return r.body().path("volume").path("id").asText();
    }

    static Object attach(ApiClient api, String server, String volume) throws Exception {
        return api.post("/compute/v2.1/servers/" + server + "/os-volume_attachments", Map.of("volumeAttachment", Map.of("volumeId", volume)));
    }

    static String status(ApiClient api, String volume) throws Exception {
        var r = api.get(api.volumes() + "/volumes/" + volume);
        return r.status() == 200 ? r.body().path("volume").path("status").asText() : null;
    }

    static Map<String, JsonNode> volumes(ApiClient api) throws Exception {
        var r = api.get(api.volumes() + "/volumes/detail");
        assertThat(r.status()).as(r.raw()).isEqualTo(200);
        var out = new LinkedHashMap<String, JsonNode>();
        for (JsonNode v : r.body().path("volumes")) {
            out.put(v.path("id").asText(), v);
        }
        return out;
    }

    static List<String> withStatus(Map<String, JsonNode> volumes, String status) {
        var out = new ArrayList<String>();
        volumes.forEach((id, v) -> {
            if (v.path("status").asText().equals(status)) {
                out.add(id);
            }
        });
        return out;
    }

    static String console(ApiClient api, String server) throws Exception {
        var r = api.post("/compute/v2.1/servers/" + server + "/action", Map.of("os-getConsoleOutput", Map.of()));
        return r.status() == 200 ? r.body().path("output").asText() : "";
    }

    /** Serial to data of the disks the guest has now, from the last event per serial on its console. */
    static Map<String, String> guestDisks(String console, Map<String, String> seen) {
        var now = new LinkedHashMap<String, String>();
        Matcher m = DISK_EVENT.matcher(console);
        while (m.find()) {
            if (m.group(1).equals("+")) {
                now.put(m.group(2), m.group(3));
                seen.put(m.group(2), m.group(3));
            } else {
                now.remove(m.group(2));
            }
        }
        return now;
    }

    static void awaitStableAndConsistent(ApiClient api, Path cloudDir, String vm, Map<String, String> seen, String context)
            throws Exception {
        var last = new String[1];
        try {
            var states = new TreeSet<String>();
            volumes(api).values().forEach(v -> states.add(v.path("status").asText()));
            System.out.println("VolumeCrashIT " + context + ": volume states right after the restart " + states);
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> {
                Map<String, JsonNode> all = volumes(api);
                var attachedToVm = new TreeSet<String>();
                for (JsonNode v : all.values()) {
                    String st = v.path("status").asText();
                    assertThat(st).as("%s: volume %s", context, v.path("id").asText()).doesNotStartWith("error");
                    if (!STABLE.contains(st)) {
                        last[0] = "volume " + v.path("id").asText() + " is " + st;
                        return false;
                    }
                    for (JsonNode a : v.path("attachments")) {
                        if (a.path("server_id").asText().equals(vm)) {
                            attachedToVm.add(v.path("id").asText().substring(0, 20));
                        }
                    }
                    if (st.equals("in-use") != !v.path("attachments").isEmpty()) {
                        last[0] = "volume " + v.path("id").asText() + " is " + st + " with attachments " + v.path("attachments");
                        return false;
                    }
                }
                var inGuest = new TreeSet<>(guestDisks(console(api, vm), seen).keySet());
                if (!inGuest.equals(attachedToVm)) {
                    last[0] = "the guest has " + inGuest + ", the API says " + attachedToVm;
                    return false;
                }
                var files = StorageFiles.ids(cloudDir, "volumes");
                if (!files.equals(new TreeSet<>(all.keySet()))) {
                    last[0] = "storage holds " + files + ", the API has " + all.keySet();
                    return false;
                }
                return true;
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError(context + ": not stable and consistent: " + last[0], e);
        }
    }

    /** Every available volume the guest wrote its mark on still carries it, read from the volume's file. */
    static void assertDataKept(ApiClient api, Path cloudDir, Map<String, String> seen) throws Exception {
        int checked = 0;
        for (String id : withStatus(volumes(api), "available")) {
            String serial = id.substring(0, 20);
            if (!("halcyon-" + serial).equals(seen.get(serial))) {
                continue; // never plugged in, or made from an image (not blank, so the guest left it alone)
            }
            Path file = StorageFiles.root(cloudDir).resolve("volumes").resolve(id + ".qcow2");
            Path out = Files.createTempFile(cloudDir, "sector", ".raw");
            var r = Command.run(List.of("qemu-img", "dd", "-f", "qcow2", "-O", "raw", "bs=512", "count=1", "if=" + file, "of=" + out),
                    Map.of(), Duration.ofSeconds(30));
            assertThat(r.exit()).as(r.stderr()).isZero();
            assertThat(Files.readString(out, StandardCharsets.ISO_8859_1)).startsWith("halcyon-" + serial + "\n");
            checked++;
        }
        assertThat(checked).as("volumes written by the guest").isPositive();
    }

    static void assertNoTemporaryFiles(Path cloudDir) {
        await().atMost(Duration.ofSeconds(90)).until(() -> {
            try (var s = Files.list(StorageFiles.root(cloudDir).resolve("tmp"))) {
                return s.findAny().isEmpty();
            }
        });
    }
}
