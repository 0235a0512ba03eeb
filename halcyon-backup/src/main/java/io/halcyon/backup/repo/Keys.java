package io.halcyon.backup.repo;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The keys of an encrypted repository, all derived from the operator's 32-byte master key with
 * HMAC-SHA256 under distinct labels: one keys the chunk ids (so equal content still deduplicates
 * but an id says nothing about the content to whoever lacks the key), one encrypts chunks, and a
 * check value in the repository's config tells a wrong key from a corrupt chunk.
 */
public final class Keys {
    private final byte[] idKey;
    private final byte[] encryptionKey;
    private final String check;

    private Keys(byte[] master) {
        this.idKey = derive(master, "halcyon chunk id");
        this.encryptionKey = derive(master, "halcyon chunk encryption");
        this.check = HexFormat.of().formatHex(derive(master, "halcyon key check"));
    }

    /** @param encoded the key file's content: 32 bytes, base64 */
    public static Keys fromBase64(String encoded) {
        byte[] master;
        try {
            master = Base64.getDecoder().decode(encoded.strip());
        } catch (IllegalArgumentException e) {
            throw new RepositoryException("the key is not base64: " + e.getMessage());
        }
        if (master.length != 32) {
            throw new RepositoryException("the key must be 32 bytes (base64 of 32 random bytes), not " + master.length);
        }
        return new Keys(master);
    }

    public static String generate() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return Base64.getEncoder().encodeToString(k);
    }

    byte[] idKey() {
        return idKey;
    }

    byte[] encryptionKey() {
        return encryptionKey;
    }

    public String check() {
        return check;
    }

    boolean matches(String storedCheck) {
        return MessageDigest.isEqual(check.getBytes(StandardCharsets.US_ASCII), storedCheck.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] derive(byte[] master, String label) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(master, "HmacSHA256"));
            return mac.doFinal(label.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
        }
    }
}
