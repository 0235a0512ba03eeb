package io.halcyon.ovsdb;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A minimal OVSDB JSON-RPC (RFC 7047) client over one TCP or UNIX socket: {@code transact} and
 * {@code echo}. It answers the server's inactivity-probe echoes, so an idle connection stays up.
 * Messages are concatenated JSON objects with no separator, which Jackson reads one root value at a
 * time. Not reconnecting by itself: a caller that sees {@link OvsdbException} opens a new client.
 */
public final class OvsdbClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OvsdbClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String target;
    private final SocketChannel channel;
    private final OutputStream out;
    private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Thread reader;
    private volatile boolean closed;

    private OvsdbClient(String target, SocketChannel channel) throws IOException {
        this.target = target;
        this.channel = channel;
        // plain reads and writes: the Channels stream adapters share one lock, so a blocked read would stall every write
        this.out = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[]{(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                while (buf.hasRemaining()) {
                    channel.write(buf);
                }
            }
        };
        InputStream in = new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : channel.read(ByteBuffer.wrap(b, off, len));
            }
        };
        reader = new Thread(() -> readLoop(in), "ovsdb-" + target);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Connects to {@code tcp:HOST:PORT} or {@code unix:PATH}, or to the first member of a clustered
     * database ({@code tcp:A:P,tcp:B:P,...}) that answers; a member forwards writes to its leader.
     */
    public static OvsdbClient connect(String target) throws IOException {
        if (target.contains(",")) {
            IOException last = null;
            for (String one : target.split(",")) {
                try {
                    return connect(one.trim());
                } catch (IOException e) {
                    last = e;
                }
            }
            throw new IOException("no member of " + target + " answers: " + (last == null ? "" : last.getMessage()), last);
        }
        SocketChannel ch;
        if (target.startsWith("unix:")) {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(Path.of(target.substring(5))));
        } else if (target.startsWith("tcp:")) {
            String hp = target.substring(4);
            int colon = hp.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("OVSDB target " + target + " has no port");
            }
            ch = SocketChannel.open();
            ch.socket().connect(new InetSocketAddress(hp.substring(0, colon), Integer.parseInt(hp.substring(colon + 1))), 5000);
        } else {
            throw new IllegalArgumentException("OVSDB target must be tcp:HOST:PORT or unix:PATH, not " + target);
        }
        return new OvsdbClient(target, ch);
    }

    public String target() {
        return target;
    }

    public boolean isOpen() {
        return !closed;
    }

    private void readLoop(InputStream in) {
        // the parser is made here: it reads ahead to detect the encoding, which blocks until the server speaks
        try (JsonParser parser = JSON.getFactory().createParser(in)) {
            while (!closed) {
                JsonNode msg = JSON.readTree(parser);
                if (msg == null) {
                    break;
                }
                handle(msg);
            }
        } catch (IOException e) {
            if (!closed) {
                log.warn("event=ovsdb_connection_lost target={} error={}", target, e.toString());
            }
        } finally {
            closed = true;
            var e = new OvsdbException("connection to " + target + " closed");
            pending.values().forEach(f -> f.completeExceptionally(e));
            pending.clear();
        }
    }

    private void handle(JsonNode msg) throws IOException {
        JsonNode method = msg.get("method");
        if (method != null && !method.isNull()) {
            if ("echo".equals(method.asText())) {
                ObjectNode reply = JSON.createObjectNode();
                reply.set("id", msg.get("id"));
                reply.set("result", msg.get("params"));
                reply.putNull("error");
                send(reply);
            }
            return; // update notifications: this client does not monitor
        }
        JsonNode id = msg.get("id");
        if (id == null || !id.canConvertToLong()) {
            return;
        }
        CompletableFuture<JsonNode> f = pending.remove(id.asLong());
        if (f == null) {
            return;
        }
        JsonNode error = msg.get("error");
        if (error != null && !error.isNull()) {
            f.completeExceptionally(new OvsdbException("OVSDB error from " + target + ": " + error));
        } else {
            f.complete(msg.get("result"));
        }
    }

    private void send(JsonNode msg) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(msg);
        synchronized (out) {
            out.write(bytes);
            out.flush();
        }
    }

    /** Sends a request and waits for its result. */
    public JsonNode call(String method, ArrayNode params, Duration timeout) {
        if (closed) {
            throw new OvsdbException("connection to " + target + " is closed");
        }
        long id = ids.incrementAndGet();
        var f = new CompletableFuture<JsonNode>();
        pending.put(id, f);
        ObjectNode req = JSON.createObjectNode();
        req.put("method", method);
        req.set("params", params);
        req.put("id", id);
        try {
            send(req);
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (IOException e) {
            close();
            throw new OvsdbException("cannot write to " + target + ": " + e.getMessage(), e);
        } catch (TimeoutException e) {
            close();
            throw new OvsdbException(method + " on " + target + " timed out after " + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof OvsdbException o ? o : new OvsdbException(e.getCause().toString(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OvsdbException("interrupted", e);
        } finally {
            pending.remove(id);
        }
    }

    /**
     * One atomic transaction. Returns the per-operation results; throws if any operation failed
     * (OVSDB then commits nothing).
     */
    public ArrayNode transact(String db, List<ObjectNode> ops, Duration timeout) {
        ArrayNode params = JSON.createArrayNode();
        params.add(db);
        ops.forEach(params::add);
        JsonNode result = call("transact", params, timeout);
        if (!(result instanceof ArrayNode arr)) {
            throw new OvsdbException("transact on " + target + " returned " + result);
        }
        for (int i = 0; i < arr.size(); i++) {
            JsonNode r = arr.get(i);
            if (r != null && r.hasNonNull("error")) {
                String op = i < ops.size() ? ops.get(i).toString() : "commit";
                throw new OvsdbException("transaction on " + target + " failed: " + r.get("error").asText() + ": "
                        + r.path("details").asText("") + " (operation " + (op.length() > 300 ? op.substring(0, 300) + "..." : op) + ")");
            }
        }
        return arr;
    }

    /** The rows of {@code table} with the given columns (and {@code _uuid}). */
    public ArrayNode select(String db, String table, List<String> columns, Duration timeout) {
        ObjectNode op = JSON.createObjectNode();
        op.put("op", "select");
        op.put("table", table);
        op.putArray("where");
        ArrayNode cols = op.putArray("columns");
        cols.add("_uuid");
        columns.forEach(cols::add);
        return (ArrayNode) transact(db, List.of(op), timeout).get(0).get("rows");
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("event=ovsdb_close_failed target={} error={}", target, e.toString());
        }
    }

    public static ObjectMapper json() {
        return JSON;
    }
}
