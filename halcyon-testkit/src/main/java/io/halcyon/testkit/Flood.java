package io.halcyon.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The unauthenticated floods an attacker without an account can aim at the public API, from
 * addresses of its own (loopback has 127/8, so each attacker can be a different client):
 * <ul>
 *   <li>slow bodies: connections that promise a body and send a byte of it every few seconds,
 *       reopened as the cloud closes them, so that as many stay open as asked for;</li>
 *   <li>wrong passwords: clients posting logins with wrong passwords as fast as they are answered.</li>
 * </ul>
 * It counts what the cloud answered. Closing it stops every thread and socket it made.
 */
public final class Flood implements AutoCloseable {
    private final List<Thread> threads = new ArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        var t = new Thread(r, "flood-ticker");
        t.setDaemon(true);
        return t;
    });
    private final Map<Integer, AtomicLong> answers = new ConcurrentHashMap<>();
    private final AtomicLong opened = new AtomicLong();
    private final AtomicLong closedByServer = new AtomicLong();
    private volatile boolean stopped;
    private final javax.net.ssl.SSLContext tls;

    private Flood(javax.net.ssl.SSLContext tls) {
        this.tls = tls;
    }

    /** Addresses 127.0.0.{first}..: one per attacker client. */
    public static List<InetAddress> loopback(int first, int count) {
        var out = new ArrayList<InetAddress>();
        try {
            for (int i = 0; i < count; i++) {
                out.add(InetAddress.getByName("127.0." + ((first + i) / 250) + "." + (2 + (first + i) % 250)));
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /**
     * {@code connections} slow bodies to POST {@code path}, spread over {@code from}, a byte every
     * {@code every}; over TLS when {@code tls} is given (the API's port serves only HTTPS then).
     */
    public static Flood slowBodies(InetSocketAddress target, List<InetAddress> from, int connections, String path, int contentLength,
                                   Duration every, javax.net.ssl.SSLContext tls) {
        var f = new Flood(tls);
        for (int i = 0; i < connections; i++) {
            InetAddress source = from.get(i % from.size());
            var slot = new Socket[1];
            f.ticker.scheduleWithFixedDelay(() -> f.trickle(slot, target, source, path, contentLength), i % 1000,
                    every.toMillis(), TimeUnit.MILLISECONDS);
        }
        return f;
    }

    private void trickle(Socket[] slot, InetSocketAddress target, InetAddress source, String path, int contentLength) {
        if (stopped) {
            return;
        }
        try {
            if (slot[0] == null || slot[0].isClosed()) {
                Socket s = connect(target, source);
                s.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: flood\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + contentLength + "\r\n\r\n{").getBytes(StandardCharsets.US_ASCII));
                slot[0] = s;
                opened.incrementAndGet();
                return;
            }
            Socket s = slot[0];
            if (s.getInputStream().available() > 0) {
                count(readStatus(s.getInputStream()));
                s.close();
                closedByServer.incrementAndGet();
                return;
            }
            s.getOutputStream().write(' ');
        } catch (IOException e) {
            if (slot[0] != null) {
                closedByServer.incrementAndGet();
                try {
                    slot[0].close();
                } catch (IOException ignored) {
                    // gone anyway
                }
            }
            slot[0] = null;
        }
    }

    /** {@code clients} clients spread over {@code from}, each posting a wrong password for {@code user} as fast as answered. */
    public static Flood wrongPasswords(InetSocketAddress target, List<InetAddress> from, int clients, String user,
                                       javax.net.ssl.SSLContext tls) {
        var f = new Flood(tls);
        for (int i = 0; i < clients; i++) {
            InetAddress source = from.get(i % from.size());
            int n = i;
            var t = new Thread(() -> f.guess(target, source, user, n), "flood-login-" + i);
            t.setDaemon(true);
            f.threads.add(t);
            t.start();
        }
        return f;
    }

    private void guess(InetSocketAddress target, InetAddress source, String user, int n) {
        long attempt = 0;
        while (!stopped) {
            try (Socket s = connect(target, source)) {
                opened.incrementAndGet();
                while (!stopped) {
                    String body = "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \"" + user
                            + "\", \"domain\": {\"id\": \"default\"}, \"password\": \"guess-" + n + "-" + attempt++ + "\"}}}}}";
                    byte[] b = body.getBytes(StandardCharsets.UTF_8);
                    OutputStream out = s.getOutputStream();
                    out.write(("POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: flood\r\nContent-Type: application/json\r\nContent-Length: "
                            + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(b);
                    out.flush();
                    var head = readHead(s.getInputStream());
                    count(head.status());
                    s.getInputStream().readNBytes(head.length());
                    if (head.close()) {
                        break;
                    }
                }
            } catch (IOException e) {
                closedByServer.incrementAndGet();
                sleep(50);
            }
        }
    }

    private Socket connect(InetSocketAddress target, InetAddress source) throws IOException {
        var s = new Socket();
        s.bind(new InetSocketAddress(source, 0));
        s.connect(target, 3000);
        s.setSoTimeout(30_000);
        Socket out = s;
        if (tls != null) {
            var ssl = (javax.net.ssl.SSLSocket) tls.getSocketFactory().createSocket(s, target.getHostString(), target.getPort(), true);
            ssl.startHandshake();
            out = ssl;
        }
        synchronized (sockets) {
            sockets.add(out);
            sockets.removeIf(Socket::isClosed);
        }
        return out;
    }

    private record Head(int status, int length, boolean close) {
    }

    private static Head readHead(InputStream in) throws IOException {
        int status = readStatus(in);
        int length = 0;
        boolean close = false;
        for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
            String lower = line.toLowerCase();
            if (lower.startsWith("content-length:")) {
                length = Integer.parseInt(lower.substring(15).trim());
            } else if (lower.startsWith("connection:") && lower.contains("close")) {
                close = true;
            }
        }
        return new Head(status, length, close);
    }

    private static int readStatus(InputStream in) throws IOException {
        String line = readLine(in);
        String[] parts = line.split(" ");
        if (parts.length < 2) {
            throw new IOException("no status line: " + line);
        }
        return Integer.parseInt(parts[1]);
    }

    private static String readLine(InputStream in) throws IOException {
        var sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                sb.append((char) c);
            }
        }
        if (c < 0 && sb.isEmpty()) {
            throw new IOException("connection closed");
        }
        return sb.toString();
    }

    private void count(int status) {
        answers.computeIfAbsent(status, k -> new AtomicLong()).incrementAndGet();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** What the cloud answered, by status. */
    public Map<Integer, Long> answers() {
        var out = new TreeMap<Integer, Long>();
        answers.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** Connections the flood opened, and those the cloud closed on it. */
    public long opened() {
        return opened.get();
    }

    public long closedByServer() {
        return closedByServer.get();
    }

    @Override
    public void close() {
        stopped = true;
        ticker.shutdownNow();
        synchronized (sockets) {
            for (Socket s : sockets) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
        for (Thread t : threads) {
            t.interrupt();
        }
    }
}
