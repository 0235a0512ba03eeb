package io.halcyon.http;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLHandshakeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A listener serves HTTPS from PEM files as openssl makes them, and a client trusting the cloud's
 * CA reaches it while one trusting another CA is refused: agents know the controller they talk to.
 */
class TlsTest {
    @TempDir
    Path dir;

    static void openssl(Path dir, String... args) throws Exception {
        var argv = new java.util.ArrayList<String>();
        argv.add("openssl");
        argv.addAll(java.util.List.of(args));
        var p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
    }

    /** A CA named {@code ca}.pem and, when {@code leaf} is given, a certificate for 127.0.0.1 it signed. */
    void ca(String ca, String leaf) throws Exception {
        openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=" + ca,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", ca + ".key",
                "-out", ca + ".pem");
        if (leaf != null) {
            openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + leaf, "-keyout",
                    leaf + ".key", "-out", leaf + ".csr");
            Files.writeString(dir.resolve(leaf + ".ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
            openssl(dir, "x509", "-req", "-in", leaf + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
                    "-extfile", leaf + ".ext", "-out", leaf + ".pem");
        }
    }

    @Test
    void onlyAClientTrustingTheCloudsCaGetsThrough() throws Exception {
        ca("cloud", "server");
        ca("other", null);
        var listener = new HttpListener(new HttpListener.Options("tls-test", "127.0.0.1", 0, Limits.internal(8),
                new Tls.ServerFiles(dir.resolve("server.pem"), dir.resolve("server.key")), 1024, null, null, null,
                (request, response, callback, status, message) -> Response.writeError(request, response, callback, status)),
                new Handler.Abstract() {
                    @Override
                    public boolean handle(Request request, Response response, Callback callback) {
                        response.setStatus(200);
                        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 2);
                        response.write(true, ByteBuffer.wrap("ok".getBytes(StandardCharsets.US_ASCII)), callback);
                        return true;
                    }
                });
        listener.start();
        try {
            assertThat(listener.secure()).isTrue();
            var url = URI.create("https://127.0.0.1:" + listener.port() + "/");
            var trusting = HttpClient.newBuilder().sslContext(Tls.client(dir.resolve("cloud.pem"))).connectTimeout(Duration.ofSeconds(3)).build();
            var r = trusting.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("ok");
            var stranger = HttpClient.newBuilder().sslContext(Tls.client(dir.resolve("other.pem"))).connectTimeout(Duration.ofSeconds(3)).build();
            assertThatThrownBy(() -> stranger.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString())).isInstanceOf(SSLHandshakeException.class);
            // and plain HTTP gets no answer from an HTTPS port
            var plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
            assertThatThrownBy(() -> plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + listener.port() + "/"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString())).isInstanceOf(java.io.IOException.class);
        } finally {
            listener.close();
        }
    }
}
