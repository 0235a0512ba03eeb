package io.halcyon.backup.repo;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkCodecTest {
    static final int SIZE = 1 << 20;

    static byte[] stored(ByteBuffer b) {
        return Arrays.copyOfRange(b.array(), b.position(), b.limit());
    }

    @Test
    void plainChunksAreNamedBySha256AndCompressedWhenThatHelps() throws Exception {
        var codec = new ChunkCodec(null, 1);
        byte[] text = "halcyon ".repeat(SIZE / 8).getBytes(StandardCharsets.US_ASCII);
        String id = codec.id(text, text.length);
        assertThat(id).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text)));
        byte[] s = stored(codec.encode(id, text, text.length));
        assertThat(s.length).isLessThan(text.length / 100);
        byte[] out = new byte[SIZE];
        assertThat(codec.decode(id, s, s.length, out)).isEqualTo(text.length);
        assertThat(Arrays.equals(out, 0, text.length, text, 0, text.length)).isTrue();

        byte[] noise = new byte[SIZE];
        new Random(1).nextBytes(noise);
        String nid = codec.id(noise, noise.length);
        byte[] ns = stored(codec.encode(nid, noise, noise.length));
        assertThat(ns.length).isEqualTo(ChunkCodec.HEADER + SIZE);
        assertThat(codec.decode(nid, ns, ns.length, out)).isEqualTo(SIZE);
        assertThat(out).isEqualTo(noise);
    }

    @Test
    void encryptedChunksHaveKeyedIdsAndFailWhenTamperedOrRenamed() {
        Keys keys = Keys.fromBase64(Keys.generate());
        var codec = new ChunkCodec(keys, 3);
        byte[] data = new byte[100_000];
        new Random(2).nextBytes(data);
        String id = codec.id(data, data.length);
        assertThat(id).isNotEqualTo(new ChunkCodec(null, 3).id(data, data.length));
        assertThat(new ChunkCodec(Keys.fromBase64(Keys.generate()), 3).id(data, data.length)).isNotEqualTo(id);
        byte[] s = stored(codec.encode(id, data, data.length));
        assertThat(new String(s, StandardCharsets.ISO_8859_1)).doesNotContain(new String(data, 0, 64, StandardCharsets.ISO_8859_1));
        byte[] out = new byte[SIZE];
        assertThat(codec.decode(id, s, s.length, out)).isEqualTo(data.length);
        assertThat(Arrays.copyOf(out, data.length)).isEqualTo(data);

        byte[] flipped = s.clone();
        flipped[flipped.length - 40] ^= 0x10;
        assertThatThrownBy(() -> codec.decode(id, flipped, flipped.length, out))
                .isInstanceOf(CorruptChunkException.class).hasMessageContaining(id).hasMessageContaining("authentication");
        String other = "0".repeat(64);
        assertThatThrownBy(() -> codec.decode(other, s, s.length, out)).isInstanceOf(CorruptChunkException.class);
        assertThatThrownBy(() -> new ChunkCodec(null, 3).decode(id, s, s.length, out)).hasMessageContaining("is encrypted");
    }

    @Test
    void aFlippedByteInAPlainChunkIsCaughtByItsHash() {
        var codec = new ChunkCodec(null, Integer.MIN_VALUE);
        byte[] data = "some data that is not compressed".getBytes(StandardCharsets.US_ASCII);
        String id = codec.id(data, data.length);
        byte[] s = stored(codec.encode(id, data, data.length));
        s[ChunkCodec.HEADER + 3] ^= 1;
        assertThatThrownBy(() -> codec.decode(id, s, s.length, new byte[SIZE]))
                .isInstanceOf(CorruptChunkException.class).hasMessage("chunk " + id + ": content does not match its hash");
        byte[] junk = {1, 2, 3};
        assertThatThrownBy(() -> codec.decode(id, junk, junk.length, new byte[SIZE])).hasMessageContaining("bad header");
    }

    @Test
    void keysMustBe32BytesOfBase64() {
        assertThatThrownBy(() -> Keys.fromBase64("not base64!")).hasMessageContaining("not base64");
        assertThatThrownBy(() -> Keys.fromBase64("AAAA")).hasMessageContaining("32 bytes");
        assertThat(Keys.fromBase64(Keys.generate()).check()).hasSize(64);
    }
}
