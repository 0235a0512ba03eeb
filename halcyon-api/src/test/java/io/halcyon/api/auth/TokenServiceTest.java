package io.halcyon.api.auth;

import io.halcyon.api.http.ApiException;
import io.halcyon.model.identity.Revocation;
import io.halcyon.runtime.ManualClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenServiceTest {
    final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    final TokenService.SigningKey key = new TokenService.SigningKey("k1", new byte[32]);
    final TokenService.SigningKey other = new TokenService.SigningKey("k2", "another key of thirty-two bytes!".getBytes());
    final List<Revocation> revocations = new ArrayList<>();
    final TokenService tokens = new TokenService(() -> Optional.of(key),
            id -> id.equals("k1") ? Optional.of(key) : id.equals("k2") ? Optional.of(other) : Optional.empty(),
            () -> revocations, clock, Duration.ofHours(1));

    TokenService.Issued issue() {
        return tokens.issue("u1", "alice", "p1", "demo", Set.of("member", "reader"), List.of("password"), null, "audit1");
    }

    @Test
    void aTokenValidatesToItsCallerWithoutAnyStore() {
        var t = issue();
        AuthContext ctx = tokens.validate(t.token());
        assertThat(ctx.userId()).isEqualTo("u1");
        assertThat(ctx.projectName()).isEqualTo("demo");
        assertThat(ctx.roles()).containsExactlyInAnyOrder("member", "reader");
        assertThat(ctx.isMember()).isTrue();
        assertThat(ctx.isAdmin()).isFalse();
        assertThat(ctx.expiresAt()).isEqualTo(clock.now().plus(Duration.ofHours(1)));
    }

    @Test
    void anExpiredTokenIsRefused() {
        var t = issue();
        clock.advance(Duration.ofMinutes(59));
        tokens.validate(t.token());
        clock.advance(Duration.ofMinutes(1));
        assertThatThrownBy(() -> tokens.validate(t.token())).isInstanceOf(ApiException.class).hasMessage("The token has expired.");
    }

    @Test
    void tamperingOrAnUnknownKeyIsRefused() {
        String t = issue().token();
        String[] parts = t.split("\\.");
        String forgedPayload = Base64.getUrlEncoder().withoutPadding().encodeToString(
                new String(Base64.getUrlDecoder().decode(parts[2])).replace("\"member\"", "\"admin\"").getBytes());
        for (String bad : List.of(parts[0] + "." + parts[1] + "." + forgedPayload + "." + parts[3],
                parts[0] + ".k2." + parts[2] + "." + parts[3],
                parts[0] + ".k9." + parts[2] + "." + parts[3],
                "garbage", "", "hc1.k1.%%%.%%%")) {
            assertThatThrownBy(() -> tokens.validate(bad)).isInstanceOf(ApiException.class)
                    .satisfies(e -> assertThat(((ApiException) e).status()).isEqualTo(401));
        }
    }

    @Test
    void revocationEventsInvalidateOnlyOlderMatchingTokens() {
        var old = issue();
        clock.advance(Duration.ofSeconds(1));
        revocations.add(new Revocation("r1", "u1", null, null, clock.now(), clock.now().plus(Duration.ofHours(1))));
        assertThatThrownBy(() -> tokens.validate(old.token())).hasMessage("The token has been revoked.");
        clock.advance(Duration.ofSeconds(1));
        var fresh = issue();
        assertThat(tokens.validate(fresh.token()).userId()).isEqualTo("u1");
        var otherUser = tokens.issue("u2", "bob", "p1", "demo", Set.of("member"), List.of("password"), null, "a2");
        revocations.add(new Revocation("r2", null, "p1", null, clock.now(), clock.now().plus(Duration.ofHours(1))));
        assertThatThrownBy(() -> tokens.validate(otherUser.token())).hasMessage("The token has been revoked.");
    }
}
