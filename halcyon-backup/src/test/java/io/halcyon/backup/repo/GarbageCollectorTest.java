package io.halcyon.backup.repo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GarbageCollectorTest {
    static final FileTime OLD = FileTime.from(Instant.parse("2020-01-01T00:00:00Z"));

    @TempDir
    Path tmp;

    static String put(Repository r, String content) {
        try (Repository.Writer w = r.startWriter("put")) {
            return put(r, w, content);
        }
    }

    static String put(Repository r, Repository.Writer w, String content) {
        ChunkCodec c = r.codec();
        byte[] b = content.getBytes();
        String id = c.id(b, b.length);
        r.insert(id, c.encode(id, b, b.length), w);
        w.sync();
        return id;
    }

    static void age(Repository r, String id) throws Exception {
        Files.setLastModifiedTime(r.chunkPath(id), OLD);
    }

    @Test
    void removesOnlyOldChunksThatNoIndexNames() throws Exception {
        try (Repository r = Repository.init(tmp.resolve("r"), 65536, 1, null)) {
            String named = put(r, "named");
            String orphan = put(r, "orphan");
            String recent = put(r, "recent orphan");
            age(r, named);
            age(r, orphan);
            r.writeIndex(RepositoryTest.index("b1", "v", Instant.now(), List.of(named)));
            Path tmpFile = r.chunkPath(orphan).resolveSibling(".x" + AtomicFiles.TMP_MARK + "1");
            Files.write(tmpFile, new byte[10]);
            Files.setLastModifiedTime(tmpFile, OLD);

            var res = new GarbageCollector(r, Duration.ofMinutes(1), Duration.ofHours(1)).run();
            assertThat(res.chunksRemoved()).isEqualTo(1);
            assertThat(res.temporaryRemoved()).isEqualTo(1);
            assertThat(Files.exists(r.chunkPath(named))).isTrue();
            assertThat(Files.exists(r.chunkPath(recent))).isTrue();
            assertThat(Files.exists(r.chunkPath(orphan))).isFalse();

            r.deleteIndex("b1");
            assertThat(new GarbageCollector(r, Duration.ofMinutes(1), Duration.ofHours(1)).run().chunksRemoved()).isEqualTo(1);
            assertThat(Files.exists(r.chunkPath(named))).isFalse();
            assertThat(new GarbageCollector(r, Duration.ZERO, Duration.ofHours(1)).run().chunksRemoved()).isEqualTo(1);
            assertThat(Files.exists(r.chunkPath(recent))).isFalse();
        }
    }

    @Test
    void aRunningBackupKeepsWhatItReusedAndAStaleOneIsToldSo() throws Exception {
        try (Repository r = Repository.init(tmp.resolve("r"), 65536, 1, null)) {
            String old = put(r, "old chunk");
            age(r, old);
            try (Repository.Writer w = r.startWriter("b2")) {
                assertThat(r.reuse(old, w.start())).isTrue();
                var res = new GarbageCollector(r, Duration.ZERO, Duration.ofHours(1)).run();
                assertThat(res.chunksRemoved()).isZero();
                assertThat(Files.exists(r.chunkPath(old))).isTrue();
            }
            try (Repository.Writer w = r.startWriter("b3")) {
                Files.setLastModifiedTime(r.dir().resolve("writers/b3"), OLD);
                var res = new GarbageCollector(r, Duration.ZERO, Duration.ofHours(1)).run();
                assertThat(res.staleWriters()).isEqualTo(1);
                assertThat(w.alive()).isFalse();
                assertThatThrownBy(w::refresh).hasMessageContaining("crashed");
            }
        }
    }

    @Test
    void aBackupWhoseProcessIsGoneHoldsNothingBack() throws Exception {
        try (Repository r = Repository.init(tmp.resolve("r"), 65536, 1, null)) {
            Process p = new ProcessBuilder("true").start();
            p.waitFor();
            WriterProcess me = WriterProcess.current();
            var dead = new WriterProcess(me.boot(), me.pidNamespace(), p.pid(), 1234L);
            Files.writeString(r.dir().resolve("writers/killed"), "0 " + dead.describe());
            String orphan = put(r, "orphan");
            age(r, orphan);
            var res = new GarbageCollector(r, Duration.ZERO, Duration.ofHours(1)).run();
            assertThat(res.staleWriters()).isEqualTo(1);
            assertThat(res.chunksRemoved()).isEqualTo(1);
            // a writer from another PID namespace is never guessed dead
            Files.writeString(r.dir().resolve("writers/elsewhere"), "0 " + new WriterProcess(me.boot(), "1", p.pid(), 1234L).describe());
            put(r, "orphan");
            age(r, orphan);
            res = new GarbageCollector(r, Duration.ZERO, Duration.ofHours(1)).run();
            assertThat(res.staleWriters()).isZero();
            assertThat(res.chunksRemoved()).isZero();
        }
    }

    @Test
    void collectingWhileBackupsReuseChunksNeverLosesANamedChunk() throws Exception {
        try (Repository r = Repository.init(tmp.resolve("r"), 65536, 1, null)) {
            var ids = new ArrayList<String>();
            for (int i = 0; i < 300; i++) {
                ids.add(put(r, "chunk " + i));
                age(r, ids.get(i));
            }
            var stop = new AtomicBoolean();
            var failures = new ArrayList<Throwable>();
            Thread backups = new Thread(() -> {
                try {
                    for (int round = 0; !stop.get(); round++) {
                        String id = "b" + round;
                        try (Repository.Writer w = r.startWriter(id)) {
                            var mine = new ArrayList<String>();
                            for (int i = round % 2; i < ids.size(); i += 2) {
                                if (!r.reuse(ids.get(i), w.start())) {
                                    mine.add(put(r, w, "chunk " + i));
                                } else {
                                    mine.add(ids.get(i));
                                }
                            }
                            r.writeIndex(RepositoryTest.index(id, "v", Instant.now(), mine));
                        }
                        if (round > 0) {
                            r.deleteIndex("b" + (round - 1));
                        }
                    }
                } catch (Throwable t) {
                    synchronized (failures) {
                        failures.add(t);
                    }
                }
            });
            backups.start();
            for (int i = 0; i < 30; i++) {
                new GarbageCollector(r, Duration.ZERO, Duration.ofHours(1)).run();
                for (String b : r.backupIds()) {
                    try {
                        for (String c : r.readIndex(b).chunkIds()) {
                            r.readStored(c);
                        }
                    } catch (NoSuchBackupException e) {
                        // pruned meanwhile
                    }
                }
            }
            stop.set(true);
            backups.join();
            assertThat(failures).isEmpty();
            assertThat(new Verifier(r, 2).verify(List.of()).ok()).isTrue();
        }
    }

    @Test
    void verifyNamesADamagedChunkAndEveryBackupUsingIt() throws Exception {
        try (Repository r = Repository.init(tmp.resolve("r"), 65536, 1, null)) {
            String shared = put(r, "shared");
            String own = put(r, "own");
            r.writeIndex(RepositoryTest.index("b1", "v", Instant.now(), List.of(shared, own)));
            r.writeIndex(RepositoryTest.index("b2", "v", Instant.now(), List.of(shared)));
            r.writeIndex(RepositoryTest.index("b3", "w", Instant.now(), List.of(own)));
            byte[] b = Files.readAllBytes(r.chunkPath(shared));
            b[b.length - 1] ^= 4;
            Files.write(r.chunkPath(shared), b);
            var res = new Verifier(r, 2).verify(List.of());
            assertThat(res.ok()).isFalse();
            assertThat(res.badChunks()).containsOnlyKeys(shared);
            assertThat(res.usedBy()).isEqualTo(Map.of(shared, java.util.Set.of("b1", "b2")));
            assertThat(new Verifier(r, 1).verify(List.of("b3")).ok()).isTrue();
            Files.delete(r.chunkPath(own));
            assertThat(new Verifier(r, 1).verify(List.of("b3")).badChunks().get(own)).contains("missing");
        }
    }
}
