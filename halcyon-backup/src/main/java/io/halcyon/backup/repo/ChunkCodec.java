package io.halcyon.backup.repo;

import com.github.luben.zstd.Zstd;

import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Turns chunk content into its id and its stored form, and back; one instance per thread (it
 * reuses its buffers and digests).
 *
 * <p>Stored form: {@code "HCK1"}, a flags byte (1 = zstd, 2 = AES-256-GCM), the plain length
 * (4 bytes), then the payload; when encrypted, a 12-byte random nonce precedes the ciphertext and
 * the chunk id is the GCM associated data, so a chunk file renamed to another id fails to
 * decrypt. Content that zstd does not shrink is stored as it is.
 */
public final class ChunkCodec {
    static final byte[] MAGIC = {'H', 'C', 'K', '1'};
    static final int HEADER = 9;
    private static final int FLAG_ZSTD = 1;
    private static final int FLAG_AES = 2;
    private static final int NONCE = 12;
    private static final int TAG_BITS = 128;
    /** AES-GCM is fed in slices: one doFinal over megabytes is far slower on this JDK. */
    private static final int SLICE = 64 * 1024;
    private static final HexFormat HEX = HexFormat.of();

    private final Keys keys;
    private final int level;
    private final MessageDigest sha;
    private final Mac mac;
    private final Cipher cipher;
    private final SecureRandom random = new SecureRandom();
    private byte[] compressed = new byte[0];
    private byte[] out = new byte[0];

    /** @param keys null for a plain repository */
    public ChunkCodec(Keys keys, int compressionLevel) {
        this.keys = keys;
        this.level = compressionLevel;
        try {
            this.sha = keys == null ? MessageDigest.getInstance("SHA-256") : null;
            if (keys != null) {
                this.mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(keys.idKey(), "HmacSHA256"));
                this.cipher = Cipher.getInstance("AES/GCM/NoPadding");
            } else {
                this.mac = null;
                this.cipher = null;
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks SHA-256, HmacSHA256 or AES/GCM", e);
        }
    }

    /** SHA-256 of the content, or HMAC-SHA256 under the id key when the repository is encrypted; lowercase hex. */
    public String id(byte[] data, int len) {
        if (mac != null) {
            mac.update(data, 0, len);
            return HEX.formatHex(mac.doFinal());
        }
        sha.update(data, 0, len);
        return HEX.formatHex(sha.digest());
    }

    /** The stored form: valid until the next call on this codec. */
    public ByteBuffer encode(String id, byte[] data, int len) {
        int bound = (int) Zstd.compressBound(len);
        if (compressed.length < bound) {
            compressed = new byte[bound];
        }
        byte[] payload = data;
        int payloadLen = len;
        int flags = 0;
        if (level != Integer.MIN_VALUE) {
            long n = Zstd.compressByteArray(compressed, 0, compressed.length, data, 0, len, level);
            if (Zstd.isError(n)) {
                throw new IllegalStateException("zstd: " + Zstd.getErrorName(n));
            }
            if (n < len) {
                payload = compressed;
                payloadLen = (int) n;
                flags |= FLAG_ZSTD;
            }
        }
        int size = HEADER + payloadLen + (keys == null ? 0 : NONCE + TAG_BITS / 8);
        if (out.length < size) {
            out = new byte[Math.max(size, HEADER + bound + NONCE + TAG_BITS / 8)];
        }
        System.arraycopy(MAGIC, 0, out, 0, 4);
        ByteBuffer.wrap(out, 5, 4).putInt(len);
        if (keys == null) {
            out[4] = (byte) flags;
            System.arraycopy(payload, 0, out, HEADER, payloadLen);
            return ByteBuffer.wrap(out, 0, size);
        }
        out[4] = (byte) (flags | FLAG_AES);
        byte[] nonce = new byte[NONCE];
        random.nextBytes(nonce);
        System.arraycopy(nonce, 0, out, HEADER, NONCE);
        try {
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(keys.encryptionKey(), "AES"), new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(HEX.parseHex(id));
            int o = HEADER + NONCE;
            for (int i = 0; i < payloadLen; i += SLICE) {
                o += cipher.update(payload, i, Math.min(SLICE, payloadLen - i), out, o);
            }
            o += cipher.doFinal(out, o);
            return ByteBuffer.wrap(out, 0, o);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM failed", e);
        }
    }

    /**
     * Checks and unpacks a stored chunk into {@code plain}; returns the content's length.
     *
     * @throws CorruptChunkException when the stored form is damaged or the content does not hash to {@code id}
     */
    public int decode(String id, byte[] stored, int storedLen, byte[] plain) {
        if (storedLen < HEADER || !java.util.Arrays.equals(stored, 0, 4, MAGIC, 0, 4)) {
            throw new CorruptChunkException(id, "not a Halcyon chunk (bad header)");
        }
        int flags = stored[4];
        int len = ByteBuffer.wrap(stored, 5, 4).getInt();
        if (len < 0 || len > plain.length) {
            throw new CorruptChunkException(id, "declares " + len + " bytes, more than the repository's chunk size");
        }
        if (((flags & FLAG_AES) != 0) != (keys != null)) {
            throw new CorruptChunkException(id, (keys == null ? "is encrypted" : "is not encrypted") + " unlike its repository");
        }
        byte[] payload = stored;
        int off = HEADER;
        int payloadLen = storedLen - HEADER;
        if (keys != null) {
            if (payloadLen < NONCE + TAG_BITS / 8) {
                throw new CorruptChunkException(id, "truncated");
            }
            if (compressed.length < payloadLen) {
                compressed = new byte[payloadLen];
            }
            try {
                cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(keys.encryptionKey(), "AES"),
                        new GCMParameterSpec(TAG_BITS, stored, HEADER, NONCE));
                cipher.updateAAD(HEX.parseHex(id));
                int o = 0;
                int start = HEADER + NONCE;
                int n = storedLen - start;
                for (int i = 0; i < n; i += SLICE) {
                    o += cipher.update(stored, start + i, Math.min(SLICE, n - i), compressed, o);
                }
                o += cipher.doFinal(compressed, o);
                payload = compressed;
                off = 0;
                payloadLen = o;
            } catch (GeneralSecurityException e) {
                throw new CorruptChunkException(id, "fails authentication (damaged, or not this chunk)");
            }
        }
        if ((flags & FLAG_ZSTD) != 0) {
            long n = Zstd.decompressByteArray(plain, 0, len, payload, off, payloadLen);
            if (Zstd.isError(n) || n != len) {
                throw new CorruptChunkException(id, "does not decompress (" + (Zstd.isError(n) ? Zstd.getErrorName(n) : n + " bytes") + ")");
            }
        } else {
            if (payloadLen != len) {
                throw new CorruptChunkException(id, "holds " + payloadLen + " bytes, declares " + len);
            }
            System.arraycopy(payload, off, plain, 0, len);
        }
        if (!id(plain, len).equals(id)) {
            throw new CorruptChunkException(id, "content does not match its hash");
        }
        return len;
    }
}
