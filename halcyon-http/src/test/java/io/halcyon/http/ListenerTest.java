package io.halcyon.http;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The listener under the kinds of abuse a public endpoint meets: bodies sent a byte at a time,
 * headers sent a byte at a time, many connections from one client, more requests than it serves.
 * Each costs the abuser its own connection and never a worker thread or another client's turn.
 */
class ListenerTest {
    final List<AutoCloseable> open = new ArrayList<>();
    volatile CountDownLatch hold = new CountDownLatch(0);

    @AfterEach
    void close() throws Exception {
        hold.countDown();
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    /** Answers with how it got the body: its length, or why there is none. */
    HttpListener listener(Limits limits) throws Exception {
        var l = new HttpListener(new HttpListener.Options("test", "127.0.0.1", 0, limits, null, 4096, r -> r.getHttpURI().getPath().equals("/bounded"),
                null, null, (request, response, callback, status, message) -> write(response, callback, status, message)), new Handler.Abstract() {
                    @Override
                    public boolean handle(Request request, Response response, Callback callback) throws Exception {
                        if (request.getHttpURI().getPath().equals("/hold")) {
                            hold.await(30, TimeUnit.SECONDS);
                        }
                        Object failure = request.getAttribute(HttpListener.BODY_FAILURE);
                        if (failure != null) {
                            response.getHeaders().put(HttpHeader.CONNECTION, "close");
                            write(response, callback, 408, String.valueOf(failure));
                        } else {
                            byte[] body = (byte[]) request.getAttribute(HttpListener.BODY);
                            write(response, callback, 200, "body " + (body == null ? "none" : body.length));
                        }
                        return true;
                    }
                });
        l.start();
        open.add(l);
        return l;
    }

    static void write(Response response, Callback callback, int status, String text) {
        response.setStatus(status);
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, b.length);
        response.write(true, ByteBuffer.wrap(b), callback);
    }

    static Limits limits(int threads, int perClient, int maxActive, int maxQueued) {
        return new Limits(threads, 1000, perClient, Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(1), 1000,
                maxActive, maxQueued, Duration.ofSeconds(1));
    }

    Socket connect(HttpListener l, String from) throws IOException {
        var s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new InetSocketAddress("127.0.0.1", l.port()), 2000);
        s.setSoTimeout(10_000);
        open.add(s);
        return s;
    }

    static String get(Socket s, String path) throws IOException {
        s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        return status(s.getInputStream());
    }

    static String status(InputStream in) throws IOException {
        var line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            line.append((char) c);
        }
        return line.toString().trim();
    }

    static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    @Test
    void slowBodiesHoldNoThreadAndAreCutOffAtTheirDeadline() throws Exception {
        HttpListener l = listener(limits(4, 100, 2, 10));
        var slow = new ArrayList<Socket>();
        for (int i = 0; i < 20; i++) {
            Socket s = connect(l, "127.0.0.2");
            s.getOutputStream().write("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\na".getBytes(StandardCharsets.US_ASCII));
            slow.add(s);
        }
        // twenty bodies trickling in, four threads: another client is still served at once
        long start = System.nanoTime();
        assertThat(get(connect(l, "127.0.0.1"), "/")).isEqualTo("HTTP/1.1 200 OK");
        assertThat(millisSince(start)).isLessThan(1000);
        // 1 s plus 1000 bytes at 1000 bytes/s: cut off after about 2 s
        for (Socket s : slow) {
            OutputStream out = s.getOutputStream();
            try {
                out.write('b');
            } catch (IOException closedAlready) {
                // the listener may have closed it by now
            }
        }
        start = System.nanoTime();
        assertThat(status(slow.get(0).getInputStream())).isEqualTo("HTTP/1.1 408 Request Timeout");
        assertThat(millisSince(start)).isLessThan(5000);
    }

    @Test
    void headersThatTrickleInAreCutOffAtTheHeaderTimeout() throws Exception {
        HttpListener l = listener(limits(4, 100, 2, 10));
        Socket s = connect(l, "127.0.0.2");
        long start = System.nanoTime();
        OutputStream out = s.getOutputStream();
        // a byte every 200 ms: never idle, never whole
        String request = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + "y".repeat(100);
        try {
            for (char c : request.toCharArray()) {
                out.write(c);
                out.flush();
                Thread.sleep(200);
                if (millisSince(start) > 3000) {
                    break;
                }
            }
        } catch (IOException closed) {
            // the listener closed it: what the test wants
        }
        s.setSoTimeout(3000);
        int read;
        try {
            read = s.getInputStream().read();
        } catch (IOException reset) {
            read = -1;
        }
        assertThat(read).as("closed by the listener").isEqualTo(-1);
        assertThat(millisSince(start)).isLessThan(4000);
        // the connection went when its headers were due, about 1 s in, not when the sender gave up
        await().atMost(Duration.ofSeconds(2)).until(() -> l.openFrom("127.0.0.2") == 0);
    }

    @Test
    void aClientPastItsConnectionLimitIsClosedOthersAreNot() throws Exception {
        HttpListener l = listener(limits(4, 3, 2, 10));
        var mine = new ArrayList<Socket>();
        for (int i = 0; i < 3; i++) {
            mine.add(connect(l, "127.0.0.3"));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> l.openFrom("127.0.0.3") == 3);
        Socket fourth = connect(l, "127.0.0.3");
        fourth.setSoTimeout(5000);
        assertThat(fourth.getInputStream().read()).isEqualTo(-1);
        assertThat(get(mine.get(0), "/")).isEqualTo("HTTP/1.1 200 OK");
        assertThat(get(connect(l, "127.0.0.4"), "/")).isEqualTo("HTTP/1.1 200 OK");
    }

    @Test
    void requestsPastTheQueueAreAnswered503AtOnceButBoundedOnesGoPast() throws Exception {
        hold = new CountDownLatch(1);
        HttpListener l = listener(limits(8, 100, 1, 1));
        Socket busy = connect(l, "127.0.0.1");
        busy.getOutputStream().write("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        Socket waiting = connect(l, "127.0.0.1");
        waiting.getOutputStream().write("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        Thread.sleep(300);
        long start = System.nanoTime();
        assertThat(get(connect(l, "127.0.0.1"), "/")).isEqualTo("HTTP/1.1 503 Service Unavailable");
        assertThat(millisSince(start)).isLessThan(1000);
        assertThat(get(connect(l, "127.0.0.1"), "/bounded")).as("bounded elsewhere: not queued").isEqualTo("HTTP/1.1 200 OK");
        hold.countDown();
        assertThat(status(busy.getInputStream())).isEqualTo("HTTP/1.1 200 OK");
    }
}
