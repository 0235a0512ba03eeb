package io.halcyon.controller;

import io.halcyon.runtime.Kinds;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Lease renewals are off the store's write path: an ordinary renewal goes in the controller's
 * batch, one write for all the renewals of a tenth of a second; the host's renewal record is
 * written only on a transition, which is what the HA leader's fencing tokens compare.
 */
class HostBeatsTest {
    private static final Map<String, String> AGENT = Map.of("X-Halcyon-Agent-Token", TestController.AGENT_TOKEN);
    @TempDir
    static Path dir;
    static ControllerMain controller;
    static Http agents;

    @BeforeAll
    static void start() throws Exception {
        java.nio.file.Files.createDirectories(dir.resolve("witness"));
        // slow renewals: no host the test registers turns suspect while it waits for its turn
        controller = TestController.start(dir.resolve("data"), "  hostLeaseTtl: 60s\n  hostRenewInterval: 10s\n"
                + "  ha: {witness: " + dir.resolve("witness") + ", suspectAfter: 20s, selfFenceTimeout: 40s}\n");
        agents = new Http("http://127.0.0.1:" + controller.agentPort());
    }

    @AfterAll
    static void stop() {
        controller.close();
    }

    private static long register(String host) {
        return registration(host).get("leaseId").asLong();
    }

    private static com.fasterxml.jackson.databind.JsonNode registration(String host) {
        var r = agents.call("POST", "/agent/v1/hosts/" + host + "/register", Map.of("name", host, "cpus", 4, "ramMb", 4096, "diskGb", 10,
                "reservedCpus", 0, "reservedRamMb", 0, "reservedDiskGb", 0, "bootId", "b-" + host), AGENT);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static long beat(String host, long lease, long seq, Map<String, Object> extra) {
        var body = new HashMap<String, Object>(Map.of("leaseId", lease, "seq", seq, "armed", true, "seen", seq));
        body.putAll(extra);
        var r = agents.call("POST", "/agent/v1/hosts/" + host + "/heartbeat", body, AGENT);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().get("revision").asLong();
    }

    private static long recordRevision(String host) {
        return controller.resources().store().get(Kinds.HOST_BEATS.key(host)).orElseThrow().modRevision();
    }

    @Test
    void ordinaryRenewalsGoInBatchesAndTransitionsAreWritten() {
        long lease = register("hb1");
        long first = beat("hb1", lease, 1, Map.of());
        assertThat(recordRevision("hb1")).as("a new lease is a transition").isEqualTo(first);
        long last = first;
        for (int i = 2; i <= 10; i++) {
            long rev = beat("hb1", lease, i, Map.of());
            assertThat(rev).isGreaterThan(last);
            last = rev;
        }
        assertThat(recordRevision("hb1")).as("nine ordinary renewals left the record alone").isEqualTo(first);
        controller.resources().awaitRevision(last);
        var batches = controller.resources().hostBeatBatches().list();
        assertThat(batches).hasSize(1);
        assertThat(batches.get(0).revision()).as("the last renewal's answer is its batch's revision").isEqualTo(last);
        assertThat(batches.get(0).value().hosts()).containsEntry("hb1", 10L);

        long disarmed = beat("hb1", lease, 11, Map.of("armed", false));
        assertThat(recordRevision("hb1")).as("what the agent enforces changed").isEqualTo(disarmed);
        long fenced = beat("hb1", lease, 12, Map.of("armed", false, "afterFence", true));
        assertThat(recordRevision("hb1")).as("the first renewal after a self-fence").isEqualTo(fenced);
    }

    @Test
    void theWitnessIsOfferedOnlyToAnAgentWhoseHeartbeatThisControllerReads() throws Exception {
        assertThat(registration("w1").get("witness").asBoolean()).as("no heartbeat file yet").isFalse();
        java.nio.file.Files.writeString(dir.resolve("witness").resolve("w2"), "b-w2 00000000000000000001\n");
        assertThat(registration("w2").get("witness").asBoolean()).isTrue();
        java.nio.file.Files.writeString(dir.resolve("witness").resolve("w3"), "an-older-boot 00000000000000000001\n");
        assertThat(registration("w3").get("witness").asBoolean()).as("another boot's file").isFalse();
        long lease = register("w2");
        long first = beat("w2", lease, 1, Map.of("witness", true));
        assertThat(controller.resources().store().get(Kinds.HOST_BEATS.key("w2")).orElseThrow().valueAsString()).contains("\"witness\":true");
        assertThat(recordRevision("w2")).isEqualTo(first);
        beat("w2", lease, 2, Map.of("witness", true));
        assertThat(recordRevision("w2")).isEqualTo(first);
        long off = beat("w2", lease, 3, Map.of());
        assertThat(recordRevision("w2")).as("no longer counting storage heartbeats is a transition").isEqualTo(off);
    }

    @Test
    void aHostSelfFencesOnlyWhileAnotherCouldTakeItsGuests() throws Exception {
        // the other tests' hosts may be up: put every one of them in maintenance
        for (var h : controller.resources().hosts().list()) {
            maintenance(h.value().name(), true);
        }
        long lease = register("alone");
        var seq = new java.util.concurrent.atomic.AtomicLong();
        // the set of hosts that could take over is recomputed at most five times a second
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                .until(() -> !beatAnswer("alone", lease, seq.incrementAndGet()).get("armed").asBoolean());
        long other = register("other");
        beat("other", other, 1, Map.of());
        maintenance("other", false);
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                .until(() -> beatAnswer("alone", lease, seq.incrementAndGet()).get("armed").asBoolean());
        maintenance("other", true);
        // the only other host is in maintenance
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                .until(() -> !beatAnswer("alone", lease, seq.incrementAndGet()).get("armed").asBoolean());
    }

    private static void maintenance(String host, boolean on) {
        var repo = controller.resources().repo(Kinds.HOST_HA_CONFIG);
        var now = controller.resources().clock().now();
        var cur = repo.get(host);
        var cfg = cur.map(io.halcyon.runtime.Versioned::value).orElse(io.halcyon.model.host.HostHaConfig.empty(host, now));
        var next = cfg.withMaintenance(on, now);
        if (cur.isEmpty()) {
            repo.create(next);
        } else {
            repo.update(next, cur.get().revision());
        }
        controller.resources().sync();
    }

    private static com.fasterxml.jackson.databind.JsonNode beatAnswer(String host, long lease, long seq) {
        var r = agents.call("POST", "/agent/v1/hosts/" + host + "/heartbeat", Map.of("leaseId", lease, "seq", seq, "armed", true, "seen", 1),
                AGENT);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    @Test
    void longPollsHeldByManyHostsNeverQueueARenewal() throws Exception {
        long lease = register("lp");
        var now = agents.call("GET", "/agent/v1/hosts/lp/assignments?after=0", null, AGENT);
        long rev = now.json().get("revision").asLong();
        var polls = new ArrayList<java.net.Socket>();
        try {
            // more held polls than the listener has threads (32 by default), fewer than one address may open (64)
            for (int i = 0; i < 60; i++) {
                var socket = new java.net.Socket("127.0.0.1", controller.agentPort());
                socket.getOutputStream().write(("GET /agent/v1/hosts/lp/assignments?after=" + rev + "&waitMillis=4000 HTTP/1.1\r\n"
                        + "Host: 127.0.0.1\r\nX-Halcyon-Agent-Token: " + TestController.AGENT_TOKEN + "\r\n\r\n")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                polls.add(socket);
            }
            // every poll has reached the controller and is held there
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> controller.pollsHeld("lp") == 60);
            var r = agents.call("POST", "/agent/v1/hosts/lp/heartbeat", Map.of("leaseId", lease, "seq", 1, "armed", true, "seen", 1), AGENT);
            assertThat(r.status()).as("a renewal beside 60 held polls: %s", r.body()).isEqualTo(200);
            for (var socket : polls) {
                assertThat(socket.getInputStream().available()).as("the polls are still held").isZero();
            }
            // then each poll ends by itself, so no connection outlives this test
            for (var socket : polls) {
                socket.setSoTimeout(10_000);
                assertThat(new String(socket.getInputStream().readNBytes(12), java.nio.charset.StandardCharsets.US_ASCII))
                        .isEqualTo("HTTP/1.1 200");
            }
        } finally {
            for (var socket : polls) {
                socket.close();
            }
        }
    }

    @Test
    void anAgentThatSendsNoSeenRevisionHasEveryRenewalWritten() {
        long lease = register("hb2");
        for (int i = 1; i <= 3; i++) {
            var r = agents.call("POST", "/agent/v1/hosts/hb2/heartbeat", Map.of("leaseId", lease, "seq", i, "armed", true), AGENT);
            assertThat(r.status()).isEqualTo(200);
            assertThat(recordRevision("hb2")).isEqualTo(r.json().get("revision").asLong());
        }
    }

    @Test
    void manyHostsRenewingAtOnceMakeFewWrites() throws Exception {
        int hosts = 200;
        var leases = new long[hosts];
        for (int i = 0; i < hosts; i++) {
            leases[i] = register("many" + i);
            beat("many" + i, leases[i], 1, Map.of());
        }
        var pool = Executors.newFixedThreadPool(50);
        var revisions = new java.util.HashSet<Long>();
        long t0 = System.nanoTime();
        try {
            var all = new ArrayList<Future<Long>>();
            for (int round = 2; round <= 4; round++) {
                for (int i = 0; i < hosts; i++) {
                    int h = i;
                    long seq = round;
                    all.add(pool.submit(() -> beat("many" + h, leases[h], seq, Map.of())));
                }
            }
            for (var f : all) {
                revisions.add(f.get());
            }
        } finally {
            pool.shutdown();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        // each answer carries the revision of the write that recorded it: one per batch, or per transition
        assertThat(revisions.size()).as("600 renewals in %.1f s were recorded by %d writes", seconds, revisions.size())
                .isLessThanOrEqualTo((int) Math.ceil(seconds * 10) + 1);
    }
}
