package io.halcyon.agent;

import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.agent.driver.Observed;
import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.DiskSpec;
import io.halcyon.model.agent.NicSpec;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent's console listener: connections that stall mid-request do not stop console output
 * for anyone else, and a caller without the agent token is refused on its headers.
 */
class ConsoleServerTest {
    static final String TOKEN = "console-test-token-0123456789";
    static final String GUEST = "11111111-2222-3333-4444-555555555555";

    /** A driver with one guest whose console says hello; nothing else is called. */
    static final class OneConsole implements GuestDriver {
        @Override
        public List<Observed> discover() {
            return List.of();
        }

        @Override
        public Observed observe(String serverId) {
            return null;
        }

        @Override
        public void spawn(Assignment assignment) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean powerDown(String serverId, Duration timeout) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void reset(String serverId, long rebootGeneration) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void kill(String serverId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void destroy(String serverId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void attach(String serverId, DiskSpec volume) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void detach(String serverId, String volumeId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void plugNic(String serverId, NicSpec nic) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void unplugNic(String serverId, String portId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public String console(String serverId, Integer lines) {
            return GUEST.equals(serverId) ? "halcyon-guest: ready\n" : null;
        }

        @Override
        public void onChange(Consumer<String> listener) {
        }
    }

    @Test
    void stalledConnectionsDoNotStopConsoleOutputAndNoTokenIsRefusedAtOnce() throws Exception {
        try (var server = new ConsoleServer("127.0.0.1", 0, new OneConsole(), TOKEN, null)) {
            var stalled = new ArrayList<Socket>();
            try {
                // half a request line each, then nothing: they once held both of the listener's threads
                for (int i = 0; i < 16; i++) {
                    var s = new Socket("127.0.0.1", server.port());
                    s.getOutputStream().write("GET /v1/gue".getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                    stalled.add(s);
                }
                var http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
                var url = URI.create("http://127.0.0.1:" + server.port() + "/v1/guests/" + GUEST + "/console");
                long t0 = System.nanoTime();
                var r = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).header(ControllerClient.TOKEN_HEADER, TOKEN).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.body()).isEqualTo("halcyon-guest: ready\n");
                assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2000);

                // no token: 401 on the headers, though the body promised never comes
                try (var s = new Socket("127.0.0.1", server.port())) {
                    s.setSoTimeout(5000);
                    s.getOutputStream().write(("POST /v1/guests/" + GUEST + "/console HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    InputStream in = s.getInputStream();
                    String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
                    assertThat(head).isEqualTo("HTTP/1.1 401");
                }
            } finally {
                for (Socket s : stalled) {
                    s.close();
                }
            }
        }
    }
}
