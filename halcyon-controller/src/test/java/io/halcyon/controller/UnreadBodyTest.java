package io.halcyon.controller;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A request refused before its body arrived ends its connection and says so: a keep-alive
 * client that reused it would race the server's close and see no response at all.
 */
class UnreadBodyTest {
    @TempDir
    Path dir;

    @Test
    void aRefusedRequestWhoseBodyIsStillComingClosesTheConnectionAndSaysSo() throws Exception {
        try (var controller = TestController.start(dir, "");
             var socket = new Socket("127.0.0.1", controller.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            // the headers promise a body that is never sent; no token, so the answer is 401 at once
            out.write(("POST /compute/v2.1/servers HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 64\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            List<String> head = readHead(socket);
            assertThat(head.get(0)).startsWith("HTTP/1.1 401");
            assertThat(head).anySatisfy(h -> assertThat(h.toLowerCase()).isEqualTo("connection: close"));
        }
    }

    @Test
    void aRequestWhoseBodyWasReadKeepsItsConnection() throws Exception {
        try (var controller = TestController.start(dir, "");
             var socket = new Socket("127.0.0.1", controller.port())) {
            socket.setSoTimeout(10_000);
            String body = "{\"not\": \"an auth request\"}";
            OutputStream out = socket.getOutputStream();
            out.write(("POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            List<String> head = readHead(socket);
            assertThat(head.get(0)).startsWith("HTTP/1.1 400");
            assertThat(head).noneSatisfy(h -> assertThat(h.toLowerCase()).startsWith("connection:"));
        }
    }

    private static List<String> readHead(Socket socket) throws Exception {
        var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
        var lines = new ArrayList<String>();
        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
            lines.add(line);
        }
        assertThat(lines).as("response head").isNotEmpty();
        return lines;
    }
}
