package io.halcyon.api.http;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/** An HTTP answer: status, headers, and a JSON body, raw bytes, or a body streamed by a writer. */
public final class Reply {
    /** Streams a large body (an image download) straight to the client. */
    public interface BodyWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    private final int status;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private final Object json;
    private final byte[] bytes;
    private final BodyWriter writer;

    private Reply(int status, Object json, byte[] bytes, BodyWriter writer) {
        this.status = status;
        this.json = json;
        this.bytes = bytes;
        this.writer = writer;
    }

    /** A JSON body: a Jackson node or any value Jackson can write (maps, lists, records). */
    public static Reply json(int status, Object body) {
        return new Reply(status, body, null, null);
    }

    public static Reply ok(Object body) {
        return json(200, body);
    }

    public static Reply empty(int status) {
        return new Reply(status, null, null, null);
    }

    public static Reply bytes(int status, byte[] body, String contentType) {
        return new Reply(status, null, body, null).header("Content-Type", contentType);
    }

    public static Reply stream(int status, String contentType, long length, BodyWriter writer) {
        var r = new Reply(status, null, null, writer).header("Content-Type", contentType);
        if (length >= 0) {
            r.header("Content-Length", Long.toString(length));
        }
        return r;
    }

    public Reply header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    public int status() {
        return status;
    }

    public Map<String, String> headers() {
        return headers;
    }

    public Object json() {
        return json;
    }

    public byte[] bytes() {
        return bytes;
    }

    public BodyWriter writer() {
        return writer;
    }

    public boolean isJsonNode() {
        return json instanceof JsonNode;
    }
}
