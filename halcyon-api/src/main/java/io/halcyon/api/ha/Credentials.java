package io.halcyon.api.ha;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;

import static java.util.Objects.requireNonNull;

/**
 * Seals BMC passwords for the store with AES-256-GCM under the cluster's credential key (a file
 * every controller reads; never in the store). The host name is the associated data, so a sealed
 * password copied onto another host's record does not open. Format: {@code v1:} + base64 of
 * nonce (12 bytes) and ciphertext with its tag.
 */
public final class Credentials {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final SecretKeySpec key;

    public Credentials(byte[] key) {
        requireNonNull(key, "key is null");
        if (key.length != 32) {
            throw new IllegalArgumentException("the credential key must be 32 bytes, not " + key.length);
        }
        this.key = new SecretKeySpec(key.clone(), "AES");
    }

    /** Reads a key file: 32 bytes, base64 on one line. */
    public static Credentials fromFile(Path file) throws IOException {
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).trim());
        } catch (IllegalArgumentException e) {
            throw new IOException("credential key file " + file + " is not base64", e);
        }
        return new Credentials(raw);
    }

    /** Writes a new random key file readable by its owner only. */
    public static void generate(Path file) throws IOException {
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, Base64.getEncoder().encodeToString(raw) + "\n", StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    public String seal(String host, String secret) {
        try {
            byte[] nonce = new byte[12];
            RANDOM.nextBytes(nonce);
            var c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
            c.updateAAD(host.getBytes(StandardCharsets.UTF_8));
            byte[] ct = c.doFinal(secret.getBytes(StandardCharsets.UTF_8));
            byte[] out = new byte[nonce.length + ct.length];
            System.arraycopy(nonce, 0, out, 0, nonce.length);
            System.arraycopy(ct, 0, out, nonce.length, ct.length);
            return "v1:" + Base64.getEncoder().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot seal a credential", e);
        }
    }

    /** Opens a sealed secret; throws {@link IllegalArgumentException} when it was sealed for another host or key. */
    public String open(String host, String sealed) {
        if (sealed == null || !sealed.startsWith("v1:")) {
            throw new IllegalArgumentException("not a sealed credential");
        }
        try {
            byte[] in = Base64.getDecoder().decode(sealed.substring(3));
            var c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, in, 0, 12));
            c.updateAAD(host.getBytes(StandardCharsets.UTF_8));
            return new String(c.doFinal(in, 12, in.length - 12), StandardCharsets.UTF_8);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("the credential of host " + host + " does not open with this key", e);
        }
    }
}
