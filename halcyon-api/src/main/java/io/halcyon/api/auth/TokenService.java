package io.halcyon.api.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.halcyon.api.http.ApiException;
import io.halcyon.model.identity.Revocation;
import io.halcyon.runtime.Clock;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

import static java.util.Objects.requireNonNull;

/**
 * Self-contained tokens: {@code hc1.<key id>.<payload>.<mac>} where the payload is the caller
 * (user, project, role names, times, audit id) as base64url JSON and the MAC is HMAC-SHA256 with a
 * key every controller holds. Any controller validates a token from memory: the signature, the
 * expiry, and the revocation events its cache follows (user or project disabled, role removed,
 * token revoked). Tokens are never stored.
 */
public final class TokenService {
    private static final String PREFIX = "hc1";
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Supplier<Optional<SigningKey>> signingKey;
    private final Function<String, Optional<SigningKey>> keyById;
    private final Supplier<Collection<Revocation>> revocations;
    private final Clock clock;
    private final Duration lifetime;

    /** A signing key as tokens are signed with it: its id and its secret, opened. */
    public record SigningKey(String id, byte[] secret) {
    }

    public TokenService(Supplier<Optional<SigningKey>> signingKey, Function<String, Optional<SigningKey>> keyById,
                        Supplier<Collection<Revocation>> revocations, Clock clock, Duration lifetime) {
        this.signingKey = requireNonNull(signingKey, "signingKey is null");
        this.keyById = requireNonNull(keyById, "keyById is null");
        this.revocations = requireNonNull(revocations, "revocations is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.lifetime = requireNonNull(lifetime, "lifetime is null");
    }

    public Duration lifetime() {
        return lifetime;
    }

    public record Issued(String token, AuthContext context) {
    }

    public Issued issue(String userId, String userName, String projectId, String projectName, Set<String> roles,
                        List<String> methods, Instant expiresAt, String auditId) {
        SigningKey key = signingKey.get().orElseThrow(() -> ApiException.unavailable("No token signing key yet; the cloud is starting."));
        Instant now = clock.now();
        Instant expires = expiresAt != null ? expiresAt : now.plus(lifetime);
        ObjectNode p = JSON.createObjectNode();
        p.put("u", userId);
        p.put("un", userName);
        if (projectId != null) {
            p.put("p", projectId);
            p.put("pn", projectName);
        }
        var r = p.putArray("r");
        roles.stream().sorted().forEach(r::add);
        var m = p.putArray("m");
        methods.forEach(m::add);
        p.put("i", now.toEpochMilli());
        p.put("e", expires.toEpochMilli());
        p.put("a", auditId);
        String payload;
        try {
            payload = B64.encodeToString(JSON.writeValueAsBytes(p));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        String signed = PREFIX + "." + key.id() + "." + payload;
        String token = signed + "." + B64.encodeToString(mac(key, signed));
        var ctx = new AuthContext(userId, userName, projectId, projectName, new HashSet<>(roles), auditId,
                Instant.ofEpochMilli(now.toEpochMilli()), Instant.ofEpochMilli(expires.toEpochMilli()), methods, false);
        return new Issued(token, ctx);
    }

    /** The caller the token names; 401 when it is malformed, forged, expired or revoked. */
    public AuthContext validate(String token) {
        if (token == null || token.isBlank()) {
            throw ApiException.unauthorized("The request you have made requires authentication.");
        }
        String[] parts = token.trim().split("\\.");
        if (parts.length != 4 || !PREFIX.equals(parts[0])) {
            throw invalid();
        }
        SigningKey key = keyById.apply(parts[1]).orElseThrow(TokenService::invalid);
        byte[] given;
        try {
            given = B64D.decode(parts[3]);
        } catch (IllegalArgumentException e) {
            throw invalid();
        }
        if (!MessageDigest.isEqual(given, mac(key, parts[0] + "." + parts[1] + "." + parts[2]))) {
            throw invalid();
        }
        JsonNode p;
        try {
            p = JSON.readTree(B64D.decode(parts[2]));
        } catch (IOException | IllegalArgumentException e) {
            throw invalid();
        }
        Instant issued = Instant.ofEpochMilli(p.path("i").asLong());
        Instant expires = Instant.ofEpochMilli(p.path("e").asLong());
        if (!clock.now().isBefore(expires)) {
            throw ApiException.unauthorized("The token has expired.");
        }
        String userId = p.path("u").asText();
        String projectId = p.hasNonNull("p") ? p.get("p").asText() : null;
        String auditId = p.path("a").asText();
        for (Revocation rev : revocations.get()) {
            if (rev.matches(userId, projectId, auditId, issued)) {
                throw ApiException.unauthorized("The token has been revoked.");
            }
        }
        var roles = new HashSet<String>();
        p.path("r").forEach(n -> roles.add(n.asText()));
        var methods = new ArrayList<String>();
        p.path("m").forEach(n -> methods.add(n.asText()));
        return new AuthContext(userId, p.path("un").asText(), projectId, projectId == null ? null : p.path("pn").asText(),
                roles, auditId, issued, expires, methods, false);
    }

    private static ApiException invalid() {
        return ApiException.unauthorized("The request you have made requires authentication.");
    }

    private static byte[] mac(SigningKey key, String data) {
        try {
            var mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.secret(), "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.US_ASCII));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 unavailable", e);
        }
    }
}
