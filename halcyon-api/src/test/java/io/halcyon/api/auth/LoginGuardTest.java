package io.halcyon.api.auth;

import io.halcyon.api.http.ApiException;
import io.halcyon.model.identity.Lockout;
import io.halcyon.model.identity.User;
import io.halcyon.runtime.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LoginGuardTest {
    /** A cheap hash, so the test is about the guard, not argon2's cost. */
    static final PasswordHasher HASHER = new PasswordHasher(64, 1, 1);
    final ManualClock clock = new ManualClock(Instant.parse("2026-12-01T00:00:00Z"));
    final Map<String, Lockout> stored = new HashMap<>();
    final LoginGuard.Lockouts lockouts = new LoginGuard.Lockouts() {
        @Override
        public Optional<Lockout> get(String userId) {
            return Optional.ofNullable(stored.get(userId));
        }

        @Override
        public void put(Lockout lockout) {
            stored.put(lockout.userId(), lockout);
        }
    };
    LoginGuard guard;

    static User user(String name, String password) {
        return new User("id-" + name, name, "default", null, null, null, true, HASHER.hash(password), Instant.EPOCH);
    }

    LoginGuard guard(int threads, int queue, int perClient, int throttle, int lockout) {
        guard = new LoginGuard(new LoginGuard.Settings(threads, queue, perClient, throttle, Duration.ofMinutes(5), lockout,
                Duration.ofMinutes(15), Set.of("admin"), Duration.ofMillis(300)), HASHER, lockouts, clock);
        return guard;
    }

    @AfterEach
    void close() {
        if (guard != null) {
            guard.close();
        }
    }

    static int status(CompletableFuture<User> f) {
        try {
            f.get(10, TimeUnit.SECONDS);
            return 200;
        } catch (java.util.concurrent.ExecutionException e) {
            return ((ApiException) e.getCause()).status();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void theRightPasswordPassesAndEveryFailureLooksTheSame() {
        var g = guard(2, 16, 8, 100, 0);
        User alice = user("alice", "s3cret");
        assertThat(status(g.login("10.0.0.1", Optional.of(alice), "s3cret"))).isEqualTo(200);
        var wrong = g.login("10.0.0.1", Optional.of(alice), "nope");
        var unknown = g.login("10.0.0.1", Optional.empty(), "nope");
        var disabled = g.login("10.0.0.1", Optional.of(alice.withEnabled(false)), "s3cret");
        for (var f : List.of(wrong, unknown, disabled)) {
            assertThatThrownBy(() -> f.join()).isInstanceOf(CompletionException.class).cause().isInstanceOf(ApiException.class)
                    .hasMessage("The request you have made requires authentication.");
        }
    }

    /** Not a benchmark: a wrong password and an unknown user both cost a full hash, ten times what timing noise could blur. */
    @Test
    void anUnknownUserTakesAsLongAsAWrongPassword() throws Exception {
        var costly = new PasswordHasher(16 * 1024, 2, 1);
        guard = new LoginGuard(new LoginGuard.Settings(1, 16, 8, 1000, Duration.ofMinutes(5), 0, Duration.ofMinutes(15), Set.of(),
                Duration.ofMillis(300)), costly, lockouts, clock);
        User erin = new User("id-erin", "erin", "default", null, null, null, true, costly.hash("pw"), Instant.EPOCH);
        var wrong = new ArrayList<Long>();
        var unknown = new ArrayList<Long>();
        for (int i = 0; i < 7; i++) {
            long t0 = System.nanoTime();
            status(guard.login("192.0.2.77", Optional.of(erin), "nope"));
            wrong.add(System.nanoTime() - t0);
            t0 = System.nanoTime();
            status(guard.login("192.0.2.77", Optional.empty(), "nope"));
            unknown.add(System.nanoTime() - t0);
        }
        wrong.sort(null);
        unknown.sort(null);
        double ratio = (double) unknown.get(3) / wrong.get(3);
        assertThat(ratio).as("median unknown-user / wrong-password time").isBetween(0.5, 2.0);
    }

    @Test
    void aUserIsLockedOutAfterFailuresInARowOnEveryControllerUntilTheLockoutEndsButAnExemptUserIsNot() {
        var g = guard(2, 16, 8, 100, 3);
        User bob = user("bob", "right");
        for (int i = 0; i < 3; i++) {
            assertThat(status(g.login("10.0.0.2", Optional.of(bob), "wrong"))).isEqualTo(401);
        }
        assertThat(stored).containsKey(bob.id());
        // locked: the right password too, with the same answer
        assertThat(status(g.login("10.0.0.3", Optional.of(bob), "right"))).isEqualTo(401);
        // another controller sees the same lockout
        var other = new LoginGuard(new LoginGuard.Settings(2, 16, 8, 100, Duration.ofMinutes(5), 3, Duration.ofMinutes(15),
                Set.of(), Duration.ofMillis(300)), HASHER, lockouts, clock);
        try {
            assertThat(status(other.login("10.0.0.4", Optional.of(bob), "right"))).isEqualTo(401);
        } finally {
            other.close();
        }
        clock.advance(Duration.ofMinutes(16));
        assertThat(status(g.login("10.0.0.3", Optional.of(bob), "right"))).isEqualTo(200);
        // a success resets the count: two more failures do not lock
        assertThat(status(g.login("10.0.0.3", Optional.of(bob), "wrong"))).isEqualTo(401);
        assertThat(status(g.login("10.0.0.3", Optional.of(bob), "wrong"))).isEqualTo(401);
        assertThat(status(g.login("10.0.0.3", Optional.of(bob), "right"))).isEqualTo(200);

        User admin = user("admin", "root-pw");
        for (int i = 0; i < 5; i++) {
            assertThat(status(g.login("10.0.0.5", Optional.of(admin), "guess" + i))).isEqualTo(401);
        }
        assertThat(stored).doesNotContainKey(admin.id());
        assertThat(status(g.login("10.0.0.6", Optional.of(admin), "root-pw"))).isEqualTo(200);
    }

    @Test
    void anAddressWithTooManyFailuresIsThrottledWithoutHashingOthersAreNot() {
        var g = guard(2, 16, 8, 5, 0);
        User carol = user("carol", "pw");
        for (int i = 0; i < 5; i++) {
            assertThat(status(g.login("192.0.2.9", Optional.empty(), "x"))).isEqualTo(401);
        }
        long t0 = System.nanoTime();
        var throttled = g.login("192.0.2.9", Optional.of(carol), "pw");
        assertThat(status(throttled)).isEqualTo(429);
        assertThat((System.nanoTime() - t0) / 1_000_000).as("refused after the delay, so a flood slows itself").isGreaterThanOrEqualTo(250);
        assertThat(status(g.login("192.0.2.10", Optional.of(carol), "pw"))).isEqualTo(200);
    }

    @Test
    void aFullQueueAnswers503AndDropsTheWorstPlacedLoginForABetterOne() throws Exception {
        // one thread, kept busy by a slow hash, and a queue of two
        var slow = new PasswordHasher(64 * 1024, 8, 1);
        guard = new LoginGuard(new LoginGuard.Settings(1, 2, 64, 100, Duration.ofMinutes(5), 0, Duration.ofMinutes(15), Set.of(), Duration.ofMillis(300)), slow,
                lockouts, clock);
        User dave = new User("id-dave", "dave", "default", null, null, null, true, slow.hash("pw"), Instant.EPOCH);
        // an attacker's failures first, so its logins rank last
        guard.login("198.51.100.1", Optional.empty(), "x").exceptionally(e -> null).get(30, TimeUnit.SECONDS);
        var queued = new ArrayList<CompletableFuture<User>>();
        for (int i = 0; i < 3; i++) {
            queued.add(guard.login("198.51.100.1", Optional.empty(), "x" + i));
        }
        // one runs, two wait: the queue is full
        var honest = guard.login("203.0.113.7", Optional.of(dave), "pw");
        assertThat(status(honest)).isEqualTo(200);
        long busy = queued.stream().filter(f -> status(f) == 503).count();
        assertThat(busy).as("the attacker's logins the honest one displaced").isGreaterThanOrEqualTo(1);
    }

    @Test
    void tooManyChecksUnderWayFromOneAddressAreRefused() {
        var slow = new PasswordHasher(64 * 1024, 8, 1);
        guard = new LoginGuard(new LoginGuard.Settings(1, 64, 2, 100, Duration.ofMinutes(5), 0, Duration.ofMinutes(15), Set.of(), Duration.ofMillis(300)), slow,
                lockouts, clock);
        var a = guard.login("192.0.2.50", Optional.empty(), "a");
        var b = guard.login("192.0.2.50", Optional.empty(), "b");
        var c = guard.login("192.0.2.50", Optional.empty(), "c");
        assertThat(status(c)).isEqualTo(429);
        assertThat(status(a)).isEqualTo(401);
        assertThat(status(b)).isEqualTo(401);
    }
}
