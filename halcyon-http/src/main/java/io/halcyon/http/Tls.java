package io.halcyon.http;

import org.eclipse.jetty.util.ssl.SslContextFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Pattern;

/**
 * TLS from the PEM files operators and {@code ./halcyon up} make: a server's certificate chain and
 * its PKCS#8 key (EC or RSA), and the CA certificate clients trust. Nothing is written: the key
 * stores exist only in memory.
 */
public final class Tls {
    private static final Pattern KEY = Pattern.compile("-----BEGIN PRIVATE KEY-----(.*?)-----END PRIVATE KEY-----", Pattern.DOTALL);
    private static final char[] NO_PASSWORD = new char[0];

    private Tls() {
    }

    /** A server's certificate (chain, leaf first) and key. */
    public record ServerFiles(Path certificate, Path key) {
    }

    public static SslContextFactory.Server server(ServerFiles files) throws IOException {
        try {
            var ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            List<Certificate> chain = certificates(files.certificate());
            ks.setKeyEntry("server", privateKey(files.key()), NO_PASSWORD, chain.toArray(new Certificate[0]));
            var f = new SslContextFactory.Server();
            f.setKeyStore(ks);
            f.setKeyStorePassword("");
            f.setKeyManagerPassword("");
            f.setIncludeProtocols("TLSv1.3", "TLSv1.2");
            f.setSniRequired(false);
            return f;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use " + files.certificate() + " and " + files.key() + " for TLS: " + e.getMessage(), e);
        }
    }

    /** A client context that trusts the certificates in {@code caFile} (and nothing else). */
    public static SSLContext client(Path caFile) throws IOException {
        try {
            var ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            int i = 0;
            for (Certificate c : certificates(caFile)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
            var tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            var ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot trust " + caFile + ": " + e.getMessage(), e);
        }
    }

    static List<Certificate> certificates(Path pem) throws IOException, GeneralSecurityException {
        var certs = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(Files.readAllBytes(pem)));
        if (certs.isEmpty()) {
            throw new GeneralSecurityException(pem + " holds no certificate");
        }
        return List.copyOf(certs);
    }

    static PrivateKey privateKey(Path pem) throws IOException, GeneralSecurityException {
        var m = KEY.matcher(Files.readString(pem, StandardCharsets.US_ASCII));
        if (!m.find()) {
            throw new GeneralSecurityException(pem + " holds no PKCS#8 private key (BEGIN PRIVATE KEY)");
        }
        var spec = new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(m.group(1)));
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next kind
            }
        }
        throw new GeneralSecurityException(pem + " holds a key that is neither EC, RSA nor Ed25519");
    }
}
