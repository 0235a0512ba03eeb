package io.halcyon.api.http;

import io.halcyon.store.StoreUnavailableException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import io.halcyon.http.Limits;
import io.halcyon.http.HttpListener;
import io.halcyon.http.Tls;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

import static java.util.Objects.requireNonNull;

/**
 * One HTTP listener of a controller (the public API, or the agents'): an {@link HttpListener} with its
 * limits, dispatching through the {@link Router}. It authenticates, enforces the route's policy
 * action, runs group hooks, and turns every failure into the service's fault JSON: an unexpected
 * exception becomes a 500 that names the request id (and is logged with it), never a stack trace.
 */
public final class HttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

    private final Router router;
    private final Authenticator authenticator;
    private final int maxBodyBytes;
    private final Limits limits;
    private final String publicUrl;
    private final java.util.Set<String> trustedProxies;
    private final HttpListener listener;

    /**
     * @param name     the listener's name in logs and thread names
     * @param tls      its certificate and key, or null for plain HTTP
     * @param trustedProxies addresses of proxies whose X-Forwarded-For names the client
     */
    public HttpServer(String name, String bindHost, int port, Limits limits, Tls.ServerFiles tls, Router router, Authenticator authenticator,
                      int maxBodyBytes, String publicUrl, java.util.Set<String> trustedProxies) throws java.io.IOException {
        this.trustedProxies = java.util.Set.copyOf(trustedProxies);
        this.router = requireNonNull(router, "router is null");
        this.authenticator = requireNonNull(authenticator, "authenticator is null");
        this.maxBodyBytes = maxBodyBytes;
        this.limits = requireNonNull(limits, "limits is null");
        this.publicUrl = publicUrl == null || publicUrl.isBlank() ? null : stripSlash(publicUrl);
        this.listener = new HttpListener(new HttpListener.Options(name, bindHost, port, limits, tls, maxBodyBytes,
                r -> route(r).map(Router.Route::selfBounded).orElse(false), r -> route(r).map(Router.Route::streamed).orElse(false),
                this::refusedOnHeaders, this::refuse), new Dispatch());
    }

    private java.util.Optional<Router.Route> route(Request request) {
        try {
            String path = request.getHttpURI().getPath();
            return java.util.Optional.of(router.match(request.getMethod(), path == null ? "/" : path).route());
        } catch (RuntimeException e) {
            return java.util.Optional.empty();
        }
    }

    /** Whether the request will be refused on its headers alone (no such route, no valid token): then its body is never read. */
    private boolean refusedOnHeaders(Request request) {
        var route = route(request);
        if (route.isEmpty()) {
            return true;
        }
        if (route.get().auth() == Router.Auth.NONE) {
            return false;
        }
        try {
            var api = new ApiRequest(request, "", java.util.Map.of(), java.util.Map.of(), maxBodyBytes, limits, trustedProxies, "");
            authenticator.authenticate(api, route.get().auth());
            return false;
        } catch (RuntimeException e) {
            return true;
        }
    }

    /** A refusal the listener makes before any route runs (its queue is full), in the words of the route's service. */
    private void refuse(Request request, Response response, Callback callback, int status, String message) {
        String path = request.getHttpURI().getPath();
        Router.Group group = router.groupFor(path == null ? "/" : path);
        FaultStyle style = group == null ? FaultStyle.KEYSTONE : group.style();
        send(request, response, callback, "req-" + UUID.randomUUID(), Reply.json(status, style.body(status, message)), Map.of(), System.nanoTime());
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    public void start() throws Exception {
        listener.start();
    }

    public int port() {
        return listener.port();
    }

    public boolean secure() {
        return listener.secure();
    }

    @Override
    public void close() throws Exception {
        listener.close();
    }

    private final class Dispatch extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            long start = System.nanoTime();
            String requestId = "req-" + UUID.randomUUID();
            String path = request.getHttpURI().getPath();
            String method = request.getMethod();
            Router.Group group = router.groupFor(path == null ? "/" : path);
            FaultStyle style = group == null ? FaultStyle.KEYSTONE : group.style();
            var extraHeaders = new LinkedHashMap<String, String>();
            ApiRequest api = null;
            try {
                io.halcyon.runtime.Resources.clearStale();
                Router.Match m = router.match(method, path == null ? "/" : path);
                group = m.route().group();
                style = group.style();
                api = new ApiRequest(request, requestId, m.params(), query(request), maxBodyBytes, limits, trustedProxies, baseUrl(request));
                if (m.route().auth() != Router.Auth.NONE) {
                    api.setAuth(authenticator.authenticate(api, m.route().auth()));
                }
                Router.Route route = m.route();
                if (route.action() != null) {
                    if (route.selfParam() != null) {
                        group.policies().enforceSelf(route.action(), api.auth(), m.params().get(route.selfParam()));
                    } else {
                        group.policies().enforce(route.action(), api.auth());
                    }
                }
                for (Router.Hook h : group.hooks()) {
                    h.before(api, extraHeaders);
                }
                if (m.route().async() != null) {
                    CompletionStage<Reply> stage = m.route().async().handle(api);
                    FaultStyle s = style;
                    stage.whenComplete((reply, error) -> {
                        if (error != null) {
                            fail(request, response, callback, requestId, s, unwrap(error), start);
                        } else {
                            send(request, response, callback, requestId, reply, extraHeaders, start);
                        }
                    });
                    return true;
                }
                Reply reply = m.route().endpoint().handle(api);
                send(request, response, callback, requestId, reply, extraHeaders, start);
            } catch (Throwable e) {
                fail(request, response, callback, requestId, style, e, start);
            }
            return true;
        }
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof java.util.concurrent.CompletionException || e instanceof java.util.concurrent.ExecutionException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    private String baseUrl(Request request) {
        if (publicUrl != null) {
            return publicUrl;
        }
        String host = request.getHeaders().get(HttpHeader.HOST);
        if (host == null || host.isBlank()) {
            host = request.getConnectionMetaData().getLocalSocketAddress().toString().replaceFirst("^/", "");
        }
        return (request.isSecure() ? "https://" : "http://") + host;
    }

    private static Map<String, List<String>> query(Request request) {
        Fields fields;
        try {
            fields = Request.extractQueryParameters(request);
        } catch (RuntimeException e) {
            throw ApiException.badRequest("Malformed query string.");
        }
        var out = new LinkedHashMap<String, List<String>>();
        for (Fields.Field f : fields) {
            out.put(f.getName(), new ArrayList<>(f.getValues()));
        }
        return out;
    }

    private void fail(Request request, Response response, Callback callback, String requestId, FaultStyle style,
                      Throwable e, long start) {
        Reply reply;
        if (e instanceof ApiException ae) {
            reply = Reply.json(ae.status(), style.body(ae.status(), ae.getMessage(), ae.type()));
            ae.headers().forEach(reply::header);
            if (ae.status() == 401) {
                reply.header("WWW-Authenticate", "Keystone uri=\"" + baseUrl(request) + "/identity/v3\"");
            }
        } else if (e instanceof StoreUnavailableException) {
            log.warn("event=store_unavailable request_id={} error=\"{}\"", requestId, e.getMessage());
            reply = Reply.json(503, style.body(503, "The cloud's store is unavailable, so this request could not be "
                    + "served; it changed nothing. Retry shortly. (" + e.getMessage() + ")"));
            reply.header("Retry-After", "2");
        } else if (e instanceof io.halcyon.model.InvalidStateException ise) {
            reply = Reply.json(409, style.body(409, ise.getMessage()));
        } else {
            log.error("event=request_failed request_id={} method={} path={}", requestId, request.getMethod(),
                    request.getHttpURI().getPath(), e);
            reply = Reply.json(500, style.body(500, "An unexpected error occurred; it has been logged with request id "
                    + requestId + "."));
        }
        send(request, response, callback, requestId, reply, Map.of(), start);
    }

    private void send(Request request, Response response, Callback callback, String requestId, Reply reply,
                      Map<String, String> extraHeaders, long start) {
        try {
            response.setStatus(reply.status());
            var headers = response.getHeaders();
            headers.put("x-openstack-request-id", requestId);
            extraHeaders.forEach(headers::put);
            reply.headers().forEach(headers::put);
            if (!request.consumeAvailable()) {
                // a body that was never read (a request refused before its body arrived): say the
                // connection ends here, or a client reuses it and races the close that follows
                headers.put(HttpHeader.CONNECTION, "close");
            }
            if (io.halcyon.runtime.Resources.stale()) {
                // RFC 7234's warning: what the client reads is the last state this controller saw
                headers.put("Warning", "110 halcyon \"Response is stale: the store has no quorum; this is the last known state\"");
            }
            if (reply.writer() != null) {
                try (OutputStream out = Content.Sink.asOutputStream(response)) {
                    reply.writer().writeTo(out);
                }
                callback.succeeded();
            } else {
                byte[] body = reply.bytes();
                if (body == null && reply.json() != null) {
                    body = ApiJson.MAPPER.writeValueAsBytes(reply.json());
                    headers.put(HttpHeader.CONTENT_TYPE, "application/json");
                }
                if (body == null) {
                    body = new byte[0];
                }
                if (reply.status() != 204 && reply.status() != 304) {
                    headers.put(HttpHeader.CONTENT_LENGTH, body.length);
                }
                response.write(true, ByteBuffer.wrap(body), callback);
            }
        } catch (Throwable t) {
            log.warn("event=response_failed request_id={} error=\"{}\"", requestId, t.toString());
            callback.failed(t);
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (log.isInfoEnabled()) {
            log.info("event=http method={} path={} status={} ms={} request_id={}", request.getMethod(),
                    request.getHttpURI().getPath(), reply.status(), ms, requestId);
        }
    }
}
