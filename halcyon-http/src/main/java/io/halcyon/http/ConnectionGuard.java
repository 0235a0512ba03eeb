package io.halcyon.http;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Watches every connection of a listener at the network level: closes one past the per-client
 * limit as it opens, and closes one whose request headers have not arrived by their deadline (a
 * new connection gets the header timeout, a kept-alive one the idle timeout from its last
 * response). Jetty's own idle timeout counts silence only, so a client that sends a byte every few
 * seconds would otherwise hold its connection forever.
 */
final class ConnectionGuard implements Connection.Listener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConnectionGuard.class);

    /** The deadline of a connection whose request is being served: none. */
    private static final long SERVING = Long.MIN_VALUE;

    private record Tracked(Connection connection, SocketAddress remote, String client, AtomicLong deadline) {
    }

    private final String name;
    private final int perClient;
    private final long headerNanos;
    private final long idleNanos;
    private final Map<String, AtomicInteger> byClient = new ConcurrentHashMap<>();
    /** By the peer's address and port, which a request names; a closed endpoint no longer says it, so closes go by connection. */
    private final Map<SocketAddress, Tracked> open = new ConcurrentHashMap<>();
    private final Map<Connection, Tracked> byConnection = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong expired = new AtomicLong();
    private final ScheduledExecutorService reaper;

    ConnectionGuard(String name, Limits limits) {
        this.name = name;
        this.perClient = limits.perClient();
        this.headerNanos = limits.headerTimeout().toNanos();
        this.idleNanos = limits.idleTimeout().toNanos();
        this.reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            var t = new Thread(r, name + "-reaper");
            t.setDaemon(true);
            return t;
        });
        reaper.scheduleWithFixedDelay(this::reap, 250, 250, TimeUnit.MILLISECONDS);
    }

    /** The network-level connection: under TLS the encrypted one, whose close takes the rest with it. */
    private static boolean network(Connection c) {
        return c.getEndPoint() instanceof SocketChannelEndPoint;
    }

    static String client(SocketAddress a) {
        return a instanceof InetSocketAddress i && i.getAddress() != null ? i.getAddress().getHostAddress() : String.valueOf(a);
    }

    @Override
    public void onOpened(Connection c) {
        if (!network(c)) {
            return;
        }
        EndPoint ep = c.getEndPoint();
        SocketAddress remote = ep.getRemoteSocketAddress();
        String client = client(remote);
        int n = byClient.computeIfAbsent(client, k -> new AtomicInteger()).incrementAndGet();
        var t = new Tracked(c, remote, client, new AtomicLong(System.nanoTime() + headerNanos));
        byConnection.put(c, t);
        if (remote != null) {
            open.put(remote, t);
        }
        if (n > perClient) {
            long r = refused.incrementAndGet();
            if (Long.bitCount(r) == 1) {
                log.warn("event=connection_refused listener={} client={} open={} limit={} refused_total={}", name, client, n - 1, perClient, r);
            }
            ep.close();
        }
    }

    @Override
    public void onClosed(Connection c) {
        if (!network(c)) {
            return;
        }
        Tracked t = byConnection.remove(c);
        if (t != null) {
            if (t.remote() != null) {
                open.remove(t.remote(), t);
            }
            byClient.computeIfPresent(t.client(), (k, v) -> v.decrementAndGet() <= 0 ? null : v);
        }
    }

    /** A request's headers have arrived: no header deadline while it is served. */
    void started(Request request) {
        Tracked t = open.get(request.getConnectionMetaData().getRemoteSocketAddress());
        if (t != null) {
            t.deadline().set(SERVING);
        }
    }

    /** Its response is done: the next request on this connection must arrive within the idle timeout. */
    void ended(Request request) {
        Tracked t = open.get(request.getConnectionMetaData().getRemoteSocketAddress());
        if (t != null) {
            t.deadline().set(System.nanoTime() + idleNanos);
        }
    }

    int openFrom(String client) {
        AtomicInteger n = byClient.get(client);
        return n == null ? 0 : n.get();
    }

    private void reap() {
        long now = System.nanoTime();
        for (Tracked t : byConnection.values()) {
            long d = t.deadline().get();
            if (d != SERVING && now - d > 0) {
                long e = expired.incrementAndGet();
                if (Long.bitCount(e) == 1) {
                    log.warn("event=request_headers_timed_out listener={} client={} expired_total={}", name, t.client(), e);
                }
                t.connection().getEndPoint().close();
            }
        }
    }

    @Override
    public void close() {
        reaper.shutdownNow();
    }
}
