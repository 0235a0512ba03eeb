package io.halcyon.backup;

import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.Keys;
import io.halcyon.backup.repo.Repository;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackupRestoreTest {
    static final int CHUNK = 256 * 1024;
    static final long SIZE = 16L * 1024 * 1024 + 12345;

    @TempDir
    Path tmp;

    Repository repo(boolean encrypted) {
        return Repository.init(tmp.resolve("repo"), CHUNK, 1, encrypted ? Keys.fromBase64(Keys.generate()) : null);
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static BackupRunner.Request request(String id, BackupIndex parent) {
        return new BackupRunner.Request(id, "vol-1", Map.of("project", "p"), parent, null, null);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aFullBackupReadsOnlyAllocatedBytesAndRestoresByteIdentical(boolean encrypted) throws Exception {
        var vol = new MemoryVolume(SIZE);
        vol.write(0, random(100_000, 1));
        vol.write(5L * CHUNK + 17, random(3 * CHUNK, 2));
        vol.write(SIZE - 1000, random(1000, 3));
        vol.write(10L * CHUNK, new byte[CHUNK]); // allocated, but zeros: a hole in the backup
        try (Repository repo = repo(encrypted)) {
            BackupIndex b = new BackupRunner(repo, 2).run(vol, request("b1", null));
            assertThat(b.mode()).isEqualTo(BackupIndex.FULL);
            assertThat(b.stats().bytesRead()).isEqualTo(vol.bytesRead).isLessThanOrEqualTo(vol.allocatedBytes());
            assertThat(b.stats().bytesSkipped()).isEqualTo(SIZE - b.stats().bytesRead());
            assertThat(b.chunks().get(10)).isNull();
            assertThat(b.chunks().get(20)).isNull();
            assertThat(b.stats().chunksNew()).isEqualTo(b.chunkIds().size());
            assertThat(repo.readIndex("b1")).isEqualTo(b);

            var out = new MemoryVolume(SIZE);
            var r = new RestoreRunner(repo, 2).run(b, out);
            assertThat(out.sha256()).isEqualTo(vol.sha256());
            assertThat(r.bytesWritten()).isLessThan(SIZE / 2);
        }
    }

    @Test
    void anIncrementalWithABitmapReadsOnlyDirtyChunksAndIsCompleteOnItsOwn() throws Exception {
        var vol = new MemoryVolume(SIZE).withBitmap(true);
        vol.write(0, random(8 * CHUNK, 4));
        try (Repository repo = repo(false)) {
            BackupIndex full = new BackupRunner(repo, 2).run(vol, request("b1", null));
            vol.clearDirty();
            vol.bytesRead = 0;
            vol.write(3L * CHUNK + 10, random(100, 5));
            vol.write(40L * CHUNK, random(CHUNK, 6));
            BackupIndex inc = new BackupRunner(repo, 2).run(vol, request("b2", full));
            assertThat(inc.mode()).isEqualTo(BackupIndex.BITMAP);
            assertThat(inc.parent()).isEqualTo("b1");
            assertThat(inc.stats().bytesRead()).isEqualTo(2L * CHUNK);
            assertThat(inc.stats().chunksNew()).isEqualTo(2);
            assertThat(inc.stats().chunksReused()).isEqualTo(7);

            repo.deleteIndex("b1");
            var out = new MemoryVolume(SIZE);
            new RestoreRunner(repo, 2).run(repo.readIndex("b2"), out);
            assertThat(out.sha256()).isEqualTo(vol.sha256());
        }
    }

    @Test
    void withoutABitmapAnIncrementalComparesHashesAndSaysSo() throws Exception {
        var vol = new MemoryVolume(SIZE);
        vol.write(0, random(8 * CHUNK, 7));
        try (Repository repo = repo(false)) {
            BackupIndex full = new BackupRunner(repo, 2).run(vol, request("b1", null));
            vol.write(CHUNK, random(10, 8));
            var req = new BackupRunner.Request("b2", "vol-1", Map.of(), full, "no dirty bitmap on the volume", null);
            BackupIndex inc = new BackupRunner(repo, 1).run(vol, req);
            assertThat(inc.mode()).isEqualTo(BackupIndex.HASH_COMPARE);
            assertThat(inc.note()).contains("no dirty bitmap");
            assertThat(inc.stats().chunksNew()).isEqualTo(1);
            assertThat(inc.stats().chunksReused()).isEqualTo(7);
            assertThat(inc.stats().bytesStored()).isLessThan(full.stats().bytesStored() / 4);
        }
    }

    @Test
    void identicalVolumesAreStoredOnce() throws Exception {
        byte[] image = random(6 * CHUNK, 9);
        try (Repository repo = repo(true)) {
            long stored = 0;
            for (int i = 0; i < 10; i++) {
                var vol = new MemoryVolume(SIZE);
                vol.write(0, image);
                vol.write(12L * CHUNK, ("server " + i).getBytes());
                BackupIndex b = new BackupRunner(repo, 2).run(vol, new BackupRunner.Request("s" + i, "vol-" + i, Map.of(), null, null, null));
                stored += b.stats().chunksNew();
            }
            assertThat(stored).isEqualTo(6 + 10);
            try (var s = Files.walk(repo.dir().resolve("chunks"))) {
                assertThat(s.filter(Files::isRegularFile).count()).isEqualTo(16);
            }
        }
    }

    @Test
    void aDamagedChunkStopsTheRestoreNamingBackupAndChunk() throws Exception {
        var vol = new MemoryVolume(SIZE);
        vol.write(0, random(3 * CHUNK, 10));
        try (Repository repo = repo(false)) {
            BackupIndex b = new BackupRunner(repo, 2).run(vol, request("b1", null));
            String victim = b.chunks().get(1);
            Path file = repo.dir().resolve("chunks").resolve(victim.substring(0, 2)).resolve(victim);
            byte[] stored = Files.readAllBytes(file);
            stored[stored.length / 2] ^= 1;
            Files.write(file, stored);
            assertThatThrownBy(() -> new RestoreRunner(repo, 2).run(b, new MemoryVolume(SIZE)))
                    .isInstanceOf(RestoreRunner.RestoreFailedException.class)
                    .hasMessageContaining("b1").hasMessageContaining(victim);
        }
    }

    @Test
    void aRestoreOntoASmallerTargetIsRefused() throws Exception {
        var vol = new MemoryVolume(SIZE);
        vol.write(0, random(1000, 11));
        try (Repository repo = repo(false)) {
            BackupIndex b = new BackupRunner(repo, 1).run(vol, request("b1", null));
            assertThatThrownBy(() -> new RestoreRunner(repo, 1).run(b, new MemoryVolume(SIZE - 1)))
                    .hasMessageContaining("needs " + SIZE);
        }
    }
}
