package io.halcyon.backup.repo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RepositoryTest {
    @TempDir
    Path tmp;

    static BackupIndex index(String id, String source, Instant at, List<String> chunks) {
        return new BackupIndex(id, source, Map.of(), at, null, (long) chunks.size() * 65536, 65536, BackupIndex.FULL, null,
                new BackupIndex.Stats(0, 0, 0, 0, 0, 0, 0), chunks);
    }

    @Test
    void openingChecksWhatItOpens() throws Exception {
        Path dir = tmp.resolve("r");
        String key = Keys.generate();
        Repository.init(dir, 1 << 22, 1, Keys.fromBase64(key)).close();
        assertThatThrownBy(() -> Repository.open(dir, null)).hasMessageContaining("is encrypted: give its key");
        assertThatThrownBy(() -> Repository.open(dir, Keys.fromBase64(Keys.generate()))).hasMessageContaining("not the key of");
        try (Repository r = Repository.open(dir, Keys.fromBase64(key))) {
            assertThat(r.chunkSize()).isEqualTo(1 << 22);
            assertThat(r.config().encrypted()).isTrue();
        }
        assertThatThrownBy(() -> Repository.init(dir, 1 << 22, 1, null)).hasMessageContaining("is not empty");
        assertThatThrownBy(() -> Repository.open(tmp, null)).hasMessageContaining("is not a Halcyon backup repository");
        assertThatThrownBy(() -> Repository.init(tmp.resolve("x"), 3_000_000, 1, null)).hasMessageContaining("power of two");
        Path plain = tmp.resolve("p");
        Repository.init(plain, 1 << 16, null, null).close();
        assertThatThrownBy(() -> Repository.open(plain, Keys.fromBase64(key))).hasMessageContaining("takes no key");
    }

    @Test
    void processesRacingToMakeOneRepositoryEndWithOneWholeRepository() throws Exception {
        Path dir = tmp.resolve("shared");
        Files.createDirectories(dir);
        var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        var results = new java.util.ArrayList<java.util.concurrent.Future<String>>();
        for (int i = 0; i < 4; i++) {
            results.add(pool.submit(() -> {
                try (Repository r = Repository.init(dir, 65536, 1, null)) {
                    return r.config().id();
                } catch (RepositoryException e) {
                    return "lost: " + e.getMessage();
                }
            }));
        }
        var ids = new java.util.ArrayList<String>();
        for (var f : results) {
            ids.add(f.get());
        }
        pool.shutdown();
        assertThat(ids.stream().filter(i -> !i.startsWith("lost"))).hasSize(1);
        try (Repository r = Repository.open(dir, null)) {
            assertThat(ids).contains(r.config().id());
        }
        try (var s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("shared");
        }
    }

    @Test
    void indexesRoundTripAndDamageIsDetected() throws Exception {
        try (Repository r = Repository.init(tmp.resolve("r"), 65536, 1, null)) {
            var idx = index("b1", "vol", Instant.parse("2026-11-01T10:00:00Z"), Arrays.asList("a".repeat(64), null));
            r.writeIndex(idx);
            assertThat(r.readIndex("b1")).isEqualTo(idx);
            assertThat(r.backupIds()).containsExactly("b1");
            Path file = r.dir().resolve("indexes/b1.json");
            Files.writeString(file, Files.readString(file).replace("\"vol\"", "\"vom\""));
            assertThatThrownBy(() -> r.readIndex("b1")).hasMessageContaining("does not match its checksum");
            assertThatThrownBy(() -> r.readIndex("nope")).isInstanceOf(NoSuchBackupException.class);
            assertThatThrownBy(() -> r.readIndex("../etc/passwd")).hasMessageContaining("bad backup id");
            r.deleteIndex("b1");
            assertThat(r.backupIds()).isEmpty();
            assertThatThrownBy(() -> r.deleteIndex("b1")).isInstanceOf(NoSuchBackupException.class);
        }
    }

    @Test
    void insertingAPresentChunkOnlyRaisesItsTimeStamp() throws Exception {
        try (Repository r = Repository.init(tmp.resolve("r"), 65536, 1, null)) {
            ChunkCodec c = r.codec();
            byte[] data = "x".repeat(1000).getBytes();
            String id = c.id(data, data.length);
            try (Repository.Writer w = r.startWriter("w")) {
                FileTime start = w.start();
                assertThat(r.reuse(id, start)).isFalse();
                assertThat(r.insert(id, c.encode(id, data, data.length), w)).isPositive();
                w.sync();
                Path p = r.chunkPath(id);
                Files.setLastModifiedTime(p, FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
                assertThat(r.insert(id, ByteBuffer.wrap(new byte[]{9}), w)).isZero();
                assertThat(Files.getLastModifiedTime(p).compareTo(start)).isGreaterThanOrEqualTo(0);
            }
            Path p = r.chunkPath(id);
            assertThat(Files.readAllBytes(p)).startsWith(ChunkCodec.MAGIC);
            try (var s = Files.list(p.getParent())) {
                assertThat(s.filter(AtomicFiles::isTemporary)).isEmpty();
            }
        }
    }
}
