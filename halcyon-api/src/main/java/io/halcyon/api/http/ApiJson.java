package io.halcyon.api.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** JSON for API bodies: explicit nulls kept (clients read them), and OpenStack's time formats. */
public final class ApiJson {
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .registerModule(new Jdk8Module())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter MICROS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter MICROS_Z = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

    private ApiJson() {
    }

    /** "2026-11-26T02:11:25Z", as Nova's created/updated and Glance's timestamps. */
    public static String seconds(Instant t) {
        return t == null ? null : SECONDS.format(t);
    }

    /** "2026-11-26T02:11:25.123456", as Nova's launched_at and instance action times. */
    public static String micros(Instant t) {
        return t == null ? null : MICROS.format(t);
    }

    /** "2026-11-26T02:11:25.123456Z", as Keystone's expires_at. */
    public static String microsZ(Instant t) {
        return t == null ? null : MICROS_Z.format(t);
    }
}
