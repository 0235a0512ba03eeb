package io.halcyon.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.halcyon.agent.driver.GuestDriver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * The agent's own small HTTP endpoint, called by controllers: {@code GET /v1/guests/{id}/console}
 * returns the tail of a guest's serial console log. It answers only callers holding the agent token.
 */
public final class ConsoleServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConsoleServer.class);
    private static final Pattern PATH = Pattern.compile("/v1/guests/([0-9a-fA-F-]{36})/console");

    private final HttpServer server;
    private final GuestDriver driver;
    private final byte[] token;

    public ConsoleServer(String bind, int port, GuestDriver driver, String token) throws IOException {
        this.driver = requireNonNull(driver, "driver is null");
        this.token = token.getBytes(StandardCharsets.UTF_8);
        this.server = HttpServer.create(new InetSocketAddress(bind, port), 64);
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            var t = new Thread(r, "agent-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/v1/guests/", this::handle);
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String given = ex.getRequestHeaders().getFirst(ControllerClient.TOKEN_HEADER);
            if (given == null || !MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8))) {
                send(ex, 401, "agent token required");
                return;
            }
            var m = PATH.matcher(ex.getRequestURI().getPath());
            if (!"GET".equals(ex.getRequestMethod()) || !m.matches()) {
                send(ex, 404, "not found");
                return;
            }
            Integer lines = null;
            String q = ex.getRequestURI().getQuery();
            if (q != null && q.startsWith("lines=")) {
                try {
                    lines = Integer.parseInt(q.substring(6));
                } catch (NumberFormatException e) {
                    send(ex, 400, "lines must be an integer");
                    return;
                }
            }
            String text = driver.console(m.group(1), lines);
            if (text == null) {
                send(ex, 404, "no console for " + m.group(1));
                return;
            }
            send(ex, 200, text);
        } catch (Exception e) {
            log.warn("event=console_request_failed error=\"{}\"", e.toString());
        }
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
            ex.getResponseBody().write(b);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
