package io.halcyon.http;

import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.QoSHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Predicate;

import static java.util.Objects.requireNonNull;

/**
 * One HTTP(S) listener as the cloud runs them all: its own bounded thread pool; connections
 * counted per client and in total; a deadline for request headers (new connections) and bodies
 * (read without a thread, see {@link BodyReader}); at most {@link Limits#maxActive()} requests
 * served at once and {@link Limits#maxQueued()} waiting, the rest answered 503 with Retry-After
 * at once, in the service's own words ({@link Refusal}). Requests {@code unqueued} says are
 * bounded elsewhere (logins, by their own pool) skip the queue.
 */
public final class HttpListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpListener.class);

    /** The request attribute holding the body read before the handlers ran (a byte[]); absent for streamed bodies. */
    public static final String BODY = "halcyon.body";
    /** Set instead of {@link #BODY} when the body did not arrive: {@link #TIMED_OUT}, or why it could not be read. */
    public static final String BODY_FAILURE = "halcyon.body.failure";
    public static final String TIMED_OUT = "timed out";

    /** Writes a refusal the listener makes on its own (503 when the queue is full) as the service's fault. */
    @FunctionalInterface
    public interface Refusal {
        void write(Request request, Response response, Callback callback, int status, String message);
    }

    /**
     * @param tls        the certificate and key to serve HTTPS with; null for plain HTTP
     * @param unqueued   requests that skip the bounded queue (bounded elsewhere)
     * @param streamed   requests whose body the handler reads as a stream (uploads)
     * @param refusedNow requests the handler refuses on their headers alone (no or a bad token, no such
     *                   route): they are answered at once, their body never read
     */
    public record Options(String name, String bind, int port, Limits limits, Tls.ServerFiles tls, int maxBodyBytes,
                          Predicate<Request> unqueued, Predicate<Request> streamed, Predicate<Request> refusedNow, Refusal refusal) {
        public Options {
            requireNonNull(name, "name is null");
            requireNonNull(bind, "bind is null");
            requireNonNull(limits, "limits is null");
            unqueued = unqueued == null ? r -> false : unqueued;
            streamed = streamed == null ? r -> false : streamed;
            refusedNow = refusedNow == null ? r -> false : refusedNow;
            requireNonNull(refusal, "refusal is null");
        }
    }

    private final Options options;
    private final Server server;
    private final ServerConnector connector;
    private final ConnectionGuard guard;
    private final ScheduledExecutorService timer;

    public HttpListener(Options o, Handler app) throws java.io.IOException {
        this.options = requireNonNull(o, "o is null");
        Limits l = o.limits();
        var pool = new QueuedThreadPool(l.threads(), Math.min(8, l.threads()));
        pool.setName(o.name());
        server = new Server(pool);
        var config = new HttpConfiguration();
        config.setSendServerVersion(false);
        config.setSendDateHeader(true);
        ConnectionFactory[] factories;
        if (o.tls() != null) {
            var secure = new SecureRequestCustomizer();
            secure.setSniHostCheck(false);
            config.addCustomizer(secure);
            var http = new HttpConnectionFactory(config);
            factories = new ConnectionFactory[] {new SslConnectionFactory(Tls.server(o.tls()), http.getProtocol()), http};
        } else {
            factories = new ConnectionFactory[] {new HttpConnectionFactory(config)};
        }
        connector = new ServerConnector(server, factories);
        connector.setHost(o.bind());
        connector.setPort(o.port());
        connector.setIdleTimeout(l.idleTimeout().toMillis());
        guard = new ConnectionGuard(o.name(), l);
        connector.addEventListener(guard);
        server.addConnector(connector);
        server.addBean(new NetworkConnectionLimit(l.maxConnections(), connector));
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            var t = new Thread(r, o.name() + "-body-timer");
            t.setDaemon(true);
            return t;
        });
        var queue = new Queue(o.refusal());
        queue.setMaxRequestCount(l.maxActive());
        queue.setMaxSuspendedRequestCount(l.maxQueued());
        queue.setMaxSuspend(l.queueTimeout());
        queue.setRejectStatusCode(503);
        queue.exclude(o.unqueued());
        queue.setHandler(app);
        server.setHandler(new BodyReader(queue, guard, l, o.maxBodyBytes(), o.streamed().or(o.refusedNow()), timer));
    }

    /** The queue, answering its 503s as the service does and saying when to come back. */
    private static final class Queue extends QoSHandler {
        private final Refusal refusal;

        Queue(Refusal refusal) {
            this.refusal = refusal;
        }

        @Override
        protected void reject(Request request, Response response, Callback callback, int status) {
            response.getHeaders().put("Retry-After", "2");
            refusal.write(request, response, callback, status, "The cloud is serving as many requests as it can; this one was "
                    + "not started and changed nothing. Retry shortly.");
        }

        @Override
        protected void failSuspended(Request request, Response response, Callback callback, int status, Throwable failure) {
            reject(request, response, callback, status);
        }
    }

    public void start() throws Exception {
        server.start();
        log.info("event=listener_started listener={} address={}:{} tls={}", options.name(), connector.getHost(), connector.getLocalPort(),
                options.tls() != null);
    }

    public int port() {
        return connector.getLocalPort();
    }

    public boolean secure() {
        return options.tls() != null;
    }

    /** Connections open from {@code client} (an address) now; for tests and the flood benchmark. */
    public int openFrom(String client) {
        return guard.openFrom(client);
    }

    @Override
    public void close() throws Exception {
        try {
            server.stop();
        } finally {
            guard.close();
            timer.shutdownNow();
        }
    }
}
