package io.halcyon.config;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;

import static java.util.Objects.requireNonNull;

/**
 * Seals the secrets the cloud keeps in its store (token signing keys, BMC passwords) with
 * AES-256-GCM under the cloud's secret key, a 0600 file kept outside the store that every
 * controller reads: a copied database or an etcd dump gives nothing without it. Each secret is
 * sealed for a context (what it is and whose), the associated data, so a sealed value copied onto
 * another record does not open. Format: {@code v1:} and base64 of the nonce (12 bytes) and the
 * ciphertext with its tag.
 */
public final class Sealer {
    private static final String PREFIX = "v1:";
    private static final SecureRandom RANDOM = new SecureRandom();
    private final SecretKeySpec key;

    public Sealer(byte[] key) {
        requireNonNull(key, "key is null");
        if (key.length != 32) {
            throw new IllegalArgumentException("the secret key must be 32 bytes, not " + key.length);
        }
        this.key = new SecretKeySpec(key.clone(), "AES");
    }

    /** Reads a key file: 32 bytes, base64 on one line, readable by its owner only. */
    public static Sealer fromFile(Path file) throws IOException {
        var perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
        for (PosixFilePermission p : perms) {
            if (p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")) {
                throw new ConfigException("the secret key file " + file + " is open to other users ("
                        + PosixFilePermissions.toString(perms) + "); make it readable by the service only: chmod 600 " + file);
            }
        }
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).trim());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("the secret key file " + file + " is not base64");
        }
        if (raw.length != 32) {
            throw new ConfigException("the secret key file " + file + " must hold 32 bytes in base64, not " + raw.length);
        }
        return new Sealer(raw);
    }

    /**
     * Reads the key file, or first makes one (32 random bytes, 0600) when there is none. Made
     * under a temporary name and linked into place, so controllers sharing a directory that race
     * to make it all end up reading the one that won.
     */
    public static Sealer loadOrCreate(Path file) throws IOException {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            generate(file);
        }
        return fromFile(file);
    }

    /** Writes a new random key file readable by its owner only; an existing one is kept. */
    public static void generate(Path file) throws IOException {
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".key-", ".tmp", PosixFilePermissions.asFileAttribute(PrivateDirs.OWNER_FILE));
        try {
            Files.writeString(tmp, Base64.getEncoder().encodeToString(raw) + "\n", StandardCharsets.US_ASCII);
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            try {
                Files.createLink(file, tmp);
            } catch (FileAlreadyExistsException e) {
                // another controller made it first
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static boolean isSealed(String value) {
        return value != null && value.startsWith(PREFIX);
    }

    public String seal(String context, String secret) {
        try {
            byte[] nonce = new byte[12];
            RANDOM.nextBytes(nonce);
            var c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
            c.updateAAD(context.getBytes(StandardCharsets.UTF_8));
            byte[] ct = c.doFinal(secret.getBytes(StandardCharsets.UTF_8));
            byte[] out = new byte[nonce.length + ct.length];
            System.arraycopy(nonce, 0, out, 0, nonce.length);
            System.arraycopy(ct, 0, out, nonce.length, ct.length);
            return PREFIX + Base64.getEncoder().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot seal a secret", e);
        }
    }

    /** Opens a sealed secret; {@link IllegalArgumentException} when it was sealed for another context or with another key. */
    public String open(String context, String sealed) {
        if (!isSealed(sealed)) {
            throw new IllegalArgumentException("not a sealed secret");
        }
        try {
            byte[] in = Base64.getDecoder().decode(sealed.substring(PREFIX.length()));
            var c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, in, 0, 12));
            c.updateAAD(context.getBytes(StandardCharsets.UTF_8));
            return new String(c.doFinal(in, 12, in.length - 12), StandardCharsets.UTF_8);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("the secret of " + context + " does not open with this key", e);
        }
    }
}
