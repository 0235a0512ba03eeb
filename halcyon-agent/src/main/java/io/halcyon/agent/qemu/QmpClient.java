package io.halcyon.agent.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A QMP connection over the guest's UNIX socket. One reader thread matches replies to commands by
 * id and hands events to a listener; a closed socket (QEMU exited) completes every pending call
 * exceptionally and is reported once through {@code onClose}.
 */
public final class QmpClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QmpClient.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SocketChannel channel;
    private final Object writeLock = new Object();
    private final ByteBuffer readBuffer = ByteBuffer.allocate(64 * 1024);
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Consumer<JsonNode> onEvent;
    private final Runnable onClose;
    private final Thread reader;
    private volatile boolean closed;

    private QmpClient(SocketChannel channel, Consumer<JsonNode> onEvent, Runnable onClose, String name) {
        this.channel = channel;
        readBuffer.flip();
        this.onEvent = onEvent;
        this.onClose = onClose;
        this.reader = new Thread(this::read, "qmp-" + name);
        this.reader.setDaemon(true);
    }

    /** Connects, reads the greeting and negotiates capabilities. */
    public static QmpClient connect(Path socket, Duration timeout, Consumer<JsonNode> onEvent, Runnable onClose) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
            var c = new QmpClient(ch, onEvent, onClose, socket.getParent().getFileName().toString());
            String greeting = c.readLine();
            if (greeting == null || !greeting.contains("\"QMP\"")) {
                throw new IOException("no QMP greeting on " + socket);
            }
            c.reader.start();
            c.execute("qmp_capabilities", null, timeout);
            return c;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private void read() {
        try {
            String line;
            while ((line = readLine()) != null) {
                JsonNode msg;
                try {
                    msg = JSON.readTree(line);
                } catch (IOException e) {
                    log.warn("event=qmp_bad_message line={}", line);
                    continue;
                }
                if (msg.has("event")) {
                    try {
                        onEvent.accept(msg);
                    } catch (RuntimeException e) {
                        log.error("event=qmp_event_handler_failed", e);
                    }
                } else if (msg.has("id")) {
                    var f = pending.remove(msg.get("id").asText());
                    if (f != null) {
                        if (msg.has("error")) {
                            f.completeExceptionally(new QmpException(msg.get("error").path("class").asText() + ": "
                                    + msg.get("error").path("desc").asText()));
                        } else {
                            f.complete(msg.path("return"));
                        }
                    }
                }
            }
        } catch (IOException e) {
            // the socket closed: QEMU exited or close() was called
        } finally {
            closed = true;
            var gone = new IOException("QMP connection closed");
            pending.values().forEach(f -> f.completeExceptionally(gone));
            pending.clear();
            try {
                channel.close();
            } catch (IOException ignored) {
                // already closed
            }
            onClose.run();
        }
    }

    public JsonNode execute(String command, ObjectNode arguments, Duration timeout) throws IOException {
        if (closed) {
            throw new IOException("QMP connection closed");
        }
        String id = Long.toString(ids.incrementAndGet());
        ObjectNode msg = JSON.createObjectNode();
        msg.put("execute", command);
        if (arguments != null) {
            msg.set("arguments", arguments);
        }
        msg.put("id", id);
        var f = new CompletableFuture<JsonNode>();
        pending.put(id, f);
        byte[] bytes = JSON.writeValueAsBytes(msg);
        ByteBuffer buf = ByteBuffer.allocate(bytes.length + 1).put(bytes).put((byte) '\n').flip();
        synchronized (writeLock) {
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        }
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for QMP " + command, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("QMP " + command + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            pending.remove(id);
            throw new IOException("QMP " + command + " timed out after " + timeout.toMillis() + " ms");
        }
    }

    /**
     * Reads one line straight from the channel. Channel streams would serialise reads and writes
     * on the channel's blocking lock, so a pending read would block every command.
     */
    private String readLine() throws IOException {
        while (true) {
            while (readBuffer.hasRemaining()) {
                byte b = readBuffer.get();
                if (b == '\n') {
                    String s = line.toString(StandardCharsets.UTF_8).trim();
                    line.reset();
                    return s;
                }
                line.write(b);
            }
            readBuffer.clear();
            int n = channel.read(readBuffer);
            readBuffer.flip();
            if (n < 0) {
                return null;
            }
        }
    }

    public static ObjectNode args() {
        return JSON.createObjectNode();
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }

    /** QEMU answered a command with an error. */
    public static final class QmpException extends IOException {
        public QmpException(String message) {
            super(message);
        }
    }
}
