package io.halcyon.store.sqlite;

import io.halcyon.store.KeyValue;
import io.halcyon.store.Op;
import io.halcyon.store.StoreLockedException;
import io.halcyon.store.Txn;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SqliteStoreTest {
    @TempDir
    Path dir;

    @Test
    void aSecondOpenOfTheSameFileFailsWithAClearMessage() {
        Path db = dir.resolve("halcyon.db");
        try (var first = SqliteStore.open(db)) {
            assertThatThrownBy(() -> SqliteStore.open(db))
                    .isInstanceOf(StoreLockedException.class)
                    .hasMessageContaining(db.toString())
                    .hasMessageContaining("in use by another process")
                    .hasMessageContaining("pid " + ProcessHandle.current().pid());
        }
        // released on close
        SqliteStore.open(db).close();
    }

    @Test
    void aSecondProcessCannotOpenTheStore() throws Exception {
        Path db = dir.resolve("halcyon.db");
        try (var first = SqliteStore.open(db)) {
            Process other = javaProcess(CrashWriter.class, db.toString(), "0");
            String out = new String(other.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(other.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(other.exitValue()).isEqualTo(3);
            assertThat(out).contains("in use by another process");
        }
    }

    @Test
    void reopeningKeepsDataRevisionsAndLeases() {
        Path db = dir.resolve("halcyon.db");
        long rev;
        long lease;
        try (var s = SqliteStore.open(db)) {
            lease = s.grantLease(Duration.ofSeconds(30));
            s.put("/a", "1".getBytes(StandardCharsets.UTF_8));
            rev = s.txn(Txn.builder().onSuccess(Op.put("/b", "2".getBytes(StandardCharsets.UTF_8), lease)).build()).revision();
        }
        try (var s = SqliteStore.open(db)) {
            assertThat(s.revision()).isEqualTo(rev);
            assertThat(s.get("/a").map(KeyValue::valueAsString)).contains("1");
            assertThat(s.get("/b").orElseThrow().lease()).isEqualTo(lease);
            s.keepAlive(lease);
            assertThat(s.put("/c", new byte[0])).isEqualTo(rev + 1);
        }
    }

    @Test
    void killNineLosesNoAcknowledgedWrite() throws Exception {
        Path db = dir.resolve("halcyon.db");
        Process writer = javaProcess(CrashWriter.class, db.toString(), "100000");
        var acked = new ArrayList<Long>();
        try (var in = new BufferedReader(new InputStreamReader(writer.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("acked ")) {
                    acked.add(Long.parseLong(line.substring(6)));
                    if (acked.size() == 300) {
                        writer.destroyForcibly(); // SIGKILL mid-stream
                        break;
                    }
                }
            }
        }
        writer.waitFor(30, TimeUnit.SECONDS);
        assertThat(acked).hasSize(300);
        try (var s = SqliteStore.open(db)) {
            for (long i : acked) {
                assertThat(s.get("/crash/" + i)).as("acknowledged key %d", i).isPresent();
            }
            assertThat(s.revision()).isGreaterThanOrEqualTo(acked.size());
        }
    }

    @Test
    void aFailingTransactionInAGroupCommitLeavesTheOthersIntact() throws Exception {
        try (var s = SqliteStore.open(dir.resolve("halcyon.db"))) {
            var pool = java.util.concurrent.Executors.newFixedThreadPool(16);
            var futures = new ArrayList<java.util.concurrent.Future<Long>>();
            for (int i = 0; i < 200; i++) {
                int n = i;
                futures.add(pool.submit(() -> {
                    long lease = n % 5 == 0 ? 0x5eedL : 0;
                    return s.txn(Txn.builder().onSuccess(Op.put("/g/" + n, new byte[]{1}, lease)).build()).revision();
                }));
            }
            var revisions = new ArrayList<Long>();
            int failed = 0;
            for (var f : futures) {
                try {
                    revisions.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(io.halcyon.store.LeaseNotFoundException.class);
                    failed++;
                }
            }
            pool.shutdown();
            assertThat(failed).isEqualTo(40);
            assertThat(revisions).hasSize(160).doesNotHaveDuplicates();
            assertThat(s.range("/g/").kvs()).hasSize(160);
            long first = revisions.stream().mapToLong(Long::longValue).min().orElseThrow();
            assertThat(revisions.stream().mapToLong(Long::longValue).max().orElseThrow()).isEqualTo(first + 159);
            for (int i = 0; i < 200; i += 5) {
                assertThat(s.get("/g/" + i)).isEmpty();
            }
        }
    }

    private Process javaProcess(Class<?> main, String... args) throws Exception {
        var cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }
}
