package io.halcyon.agent;

import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.http.Limits;
import io.halcyon.http.HttpListener;
import io.halcyon.http.Tls;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * The agent's own small HTTP endpoint, called by controllers: {@code GET /v1/guests/{id}/console}
 * returns the tail of a guest's serial console log. A request without the agent token is refused
 * on its headers, before anything else is read; the listener bounds threads, connections per
 * client and the time headers may take, so idle or slow connections cannot stop console output.
 */
public final class ConsoleServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConsoleServer.class);
    private static final Pattern PATH = Pattern.compile("/v1/guests/([0-9a-fA-F-]{36})/console");

    private final HttpListener listener;
    private final GuestDriver driver;
    private final byte[] token;

    public ConsoleServer(String bind, int port, GuestDriver driver, String token, Tls.ServerFiles tls) throws IOException {
        this.driver = requireNonNull(driver, "driver is null");
        this.token = token.getBytes(StandardCharsets.UTF_8);
        this.listener = new HttpListener(new HttpListener.Options("agent-console", bind, port, Limits.internal(8), tls, 4096, null, null,
                r -> !tokenOk(r),
                (request, response, callback, status, message) -> send(response, callback, status, message)), new Handler.Abstract() {
                    @Override
                    public boolean handle(Request request, Response response, Callback callback) {
                        serve(request, response, callback);
                        return true;
                    }
                });
        try {
            listener.start();
        } catch (Exception e) {
            throw new IOException("the console listener did not start on " + bind + ":" + port + ": " + e.getMessage(), e);
        }
    }

    public int port() {
        return listener.port();
    }

    public boolean secure() {
        return listener.secure();
    }

    private void serve(Request request, Response response, Callback callback) {
        try {
            if (!tokenOk(request)) {
                response.getHeaders().put(HttpHeader.CONNECTION, "close");
                send(response, callback, 401, "agent token required");
                return;
            }
            var m = PATH.matcher(request.getHttpURI().getPath());
            if (!"GET".equals(request.getMethod()) || !m.matches()) {
                send(response, callback, 404, "not found");
                return;
            }
            Integer lines = null;
            Fields.Field f = Request.extractQueryParameters(request).get("lines");
            if (f != null) {
                try {
                    lines = Integer.parseInt(f.getValue());
                } catch (NumberFormatException e) {
                    send(response, callback, 400, "lines must be an integer");
                    return;
                }
            }
            String text = driver.console(m.group(1), lines);
            if (text == null) {
                send(response, callback, 404, "no console for " + m.group(1));
                return;
            }
            send(response, callback, 200, text);
        } catch (Exception e) {
            log.warn("event=console_request_failed error=\"{}\"", e.toString());
            send(response, callback, 500, "console unavailable");
        }
    }

    private boolean tokenOk(Request request) {
        String given = request.getHeaders().get(ControllerClient.TOKEN_HEADER);
        return given != null && MessageDigest.isEqual(token, given.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(Response response, Callback callback, int status, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, b.length);
        response.write(true, ByteBuffer.wrap(b), callback);
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (Exception e) {
            log.warn("event=console_listener_close_failed error=\"{}\"", e.toString());
        }
    }
}
