package io.halcyon.api.auth;

import io.halcyon.api.http.ApiException;
import io.halcyon.model.identity.Lockout;
import io.halcyon.model.identity.User;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Resources;
import io.halcyon.store.Txn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * Password checks that no flood can turn against the cloud or its users.
 * <ul>
 *   <li>Hashing (argon2id: about 20 MiB and tens of milliseconds each) runs on a fixed pool with a
 *       bounded queue; a login waits there holding no HTTP thread, and one that finds the queue
 *       full gets 503 at once. So memory and CPU stay bounded whatever arrives.</li>
 *   <li>The queue serves first the logins from clients (addresses) with the fewest recent
 *       failures, then those with the fewest other logins under way, and a full queue drops its
 *       worst-placed login for a better one: a flood of wrong passwords from some addresses does
 *       not delay the logins of others.</li>
 *   <li>Failed-login throttling: a client with {@code throttleFailures} failures within
 *       {@code throttleWindow} gets 429 without any hashing until the window moves on, and one
 *       with {@code perClient} checks already under way gets 429 too. A client with failures
 *       gets such refusals (and a 503) only after {@code refusalDelay}, held without a thread, so
 *       a flood slows itself down instead of spinning on cheap answers.</li>
 *   <li>Lockout (Keystone's {@code lockout_failure_attempts} and {@code lockout_duration}): a
 *       user whose password fails that many times in a row is locked for that long, recorded in
 *       the store so every controller refuses it, the right password included. Users named in
 *       {@code lockoutExempt} are never locked (Keystone's {@code ignore_lockout_failure_attempts}),
 *       so a flood cannot lock the operator out; throttling still slows guessing at them.</li>
 *   <li>An unknown, disabled or locked user costs the same hash as a wrong password and gets the
 *       same answer: neither the answer nor its timing tells which users exist.</li>
 * </ul>
 * Consecutive failures are counted by each controller in memory; the lockout they lead to is shared.
 */
public final class LoginGuard implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LoginGuard.class);

    public record Settings(int threads, int queue, int perClient, int throttleFailures, Duration throttleWindow, int lockoutAttempts,
                           Duration lockoutDuration, Set<String> lockoutExempt, Duration refusalDelay) {
        public Settings {
            requireNonNull(throttleWindow, "throttleWindow is null");
            requireNonNull(lockoutDuration, "lockoutDuration is null");
            refusalDelay = refusalDelay == null ? Duration.ofSeconds(1) : refusalDelay;
            lockoutExempt = lockoutExempt == null ? Set.of() : Set.copyOf(lockoutExempt);
            if (threads < 1 || queue < 1 || perClient < 1 || throttleFailures < 1 || lockoutAttempts < 0) {
                throw new IllegalArgumentException("login limits out of range");
            }
        }

        public static Settings defaults() {
            return new Settings(Math.max(2, Runtime.getRuntime().availableProcessors()), 64, 8, 20, Duration.ofMinutes(5), 6,
                    Duration.ofMinutes(15), Set.of("admin"), Duration.ofSeconds(1));
        }
    }

    /** Where lockouts are kept: the store, so that every controller refuses a locked user. */
    public interface Lockouts {
        Optional<Lockout> get(String userId);

        void put(Lockout lockout);

        static Lockouts in(Resources res) {
            return new Lockouts() {
                @Override
                public Optional<Lockout> get(String userId) {
                    return res.lockouts().get(userId).map(v -> v.value());
                }

                @Override
                public void put(Lockout lockout) {
                    res.store().txn(Txn.builder().onSuccess(res.repo(Kinds.LOCKOUTS).put(lockout)).build());
                }
            };
        }
    }

    private final Settings settings;
    private final PasswordHasher hasher;
    private final Lockouts lockouts;
    private final io.halcyon.runtime.Clock clock;
    private final String dummyHash;
    private final Object lock = new Object();
    private final PriorityQueue<Job> queue = new PriorityQueue<>(Comparator.comparingInt(Job::failures).thenComparingInt(Job::busy)
            .thenComparingLong(Job::seq));
    private final AtomicLong seq = new AtomicLong();
    private final Map<String, Client> clients = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> consecutive = new ConcurrentHashMap<>();
    private final List<Thread> workers = new ArrayList<>();
    private final java.util.concurrent.ScheduledExecutorService delays = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        var t = new Thread(r, "login-refusals");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean closed;

    /** @param busy the client's other logins under way when this one came */
    private record Job(String client, int failures, int busy, long seq, Optional<User> user, String password, CompletableFuture<User> result) {
    }

    /** One address's recent failures (their times) and its checks under way. */
    private static final class Client {
        final ArrayDeque<Long> failures = new ArrayDeque<>();
        final AtomicInteger inFlight = new AtomicInteger();
    }

    public LoginGuard(Settings settings, PasswordHasher hasher, Lockouts lockouts, io.halcyon.runtime.Clock clock) {
        this.settings = requireNonNull(settings, "settings is null");
        this.hasher = requireNonNull(hasher, "hasher is null");
        this.lockouts = requireNonNull(lockouts, "lockouts is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.dummyHash = hasher.hash("halcyon-no-such-user");
        for (int i = 0; i < settings.threads(); i++) {
            var t = new Thread(this::work, "login-" + i);
            t.setDaemon(true);
            t.start();
            workers.add(t);
        }
    }

    /**
     * Checks {@code password} for a login from {@code client}: completes with the user when it is
     * right (and the user enabled and not locked), else with an {@link ApiException}: 401, or 429
     * (throttled) or 503 (busy), each changing nothing.
     */
    public CompletableFuture<User> login(String client, Optional<User> user, String password) {
        var result = new CompletableFuture<User>();
        Client c = client(client);
        int failures = recentFailures(c);
        if (failures >= settings.throttleFailures()) {
            return refuse(failures, tooMany("Too many failed logins from this address; try again in a few minutes."));
        }
        int busy = c.inFlight.incrementAndGet() - 1;
        if (busy >= settings.perClient()) {
            c.inFlight.decrementAndGet();
            return refuse(failures, tooMany("Too many logins under way from this address; wait for them to finish."));
        }
        result.whenComplete((u, e) -> c.inFlight.decrementAndGet());
        Job job = new Job(client, failures, busy, seq.incrementAndGet(), user, password, result);
        Job dropped = null;
        synchronized (lock) {
            if (queue.size() >= settings.queue()) {
                Job worst = queue.stream().max(queue.comparator()).orElseThrow();
                if (queue.comparator().compare(job, worst) < 0) {
                    queue.remove(worst);
                    dropped = worst;
                } else {
                    dropped = job;
                }
            }
            if (dropped != job) {
                queue.add(job);
                lock.notify();
            }
        }
        if (dropped != null) {
            Job d = dropped;
            if (d.failures() > 0) {
                delays.schedule(() -> d.result().completeExceptionally(busy()), settings.refusalDelay().toMillis(),
                        java.util.concurrent.TimeUnit.MILLISECONDS);
            } else {
                d.result().completeExceptionally(busy());
            }
        }
        return result;
    }

    /** A refusal: at once for a client without failures, after the refusal delay for one with. */
    private CompletableFuture<User> refuse(int failures, ApiException e) {
        if (failures == 0) {
            return CompletableFuture.failedFuture(e);
        }
        var f = new CompletableFuture<User>();
        delays.schedule(() -> f.completeExceptionally(e), settings.refusalDelay().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        return f;
    }

    private void work() {
        while (!closed) {
            Job job;
            synchronized (lock) {
                while (queue.isEmpty() && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    return;
                }
                job = queue.poll();
            }
            try {
                job.result().complete(check(job));
            } catch (Throwable t) {
                job.result().completeExceptionally(t);
            }
        }
    }

    private User check(Job job) {
        User u = job.user().orElse(null);
        Instant now = clock.now();
        boolean locked = u != null && lockouts.get(u.id()).map(l -> l.active(now)).orElse(false);
        boolean usable = u != null && u.enabled() && !locked && u.passwordHash() != null;
        // the same work whether or not there is a user to check against
        boolean right = hasher.verify(job.password(), usable ? u.passwordHash() : dummyHash) && usable;
        if (right) {
            consecutive.remove(u.id());
            return u;
        }
        failed(job.client(), u, locked);
        throw TokenFaults.unauthorized();
    }

    private void failed(String client, User u, boolean alreadyLocked) {
        Client c = client(client);
        synchronized (c) {
            c.failures.addLast(System.nanoTime());
            while (c.failures.size() > settings.throttleFailures()) {
                c.failures.removeFirst();
            }
        }
        if (u == null || alreadyLocked || settings.lockoutAttempts() == 0 || settings.lockoutExempt().contains(u.name())) {
            return;
        }
        int n = consecutive.computeIfAbsent(u.id(), k -> new AtomicInteger()).incrementAndGet();
        if (n >= settings.lockoutAttempts()) {
            consecutive.remove(u.id());
            Instant now = clock.now();
            var lockout = new Lockout(u.id(), now.plus(settings.lockoutDuration()), n);
            try {
                lockouts.put(lockout);
                log.warn("event=user_locked_out user_id={} failures={} until={}", u.id(), n, lockout.until());
            } catch (RuntimeException e) {
                log.warn("event=lockout_not_recorded user_id={} error=\"{}\"", u.id(), e.getMessage());
            }
        }
    }

    private Client client(String address) {
        if (clients.size() > 100_000) {
            // an address spray: forget the quiet ones
            clients.entrySet().removeIf(e -> e.getValue().inFlight.get() == 0 && recentFailures(e.getValue()) == 0);
        }
        return clients.computeIfAbsent(address == null ? "" : address, k -> new Client());
    }

    private int recentFailures(Client c) {
        long horizon = System.nanoTime() - settings.throttleWindow().toNanos();
        synchronized (c) {
            while (!c.failures.isEmpty() && c.failures.peekFirst() - horizon < 0) {
                c.failures.removeFirst();
            }
            return c.failures.size();
        }
    }

    private static ApiException tooMany(String message) {
        return new ApiException(429, message, Map.of("Retry-After", "30"));
    }

    private static ApiException busy() {
        return new ApiException(503, "The cloud is checking as many passwords as it can; retry shortly. Nothing was changed.",
                Map.of("Retry-After", "2"));
    }

    @Override
    public void close() {
        closed = true;
        delays.shutdownNow();
        synchronized (lock) {
            lock.notifyAll();
            queue.forEach(j -> j.result().completeExceptionally(busy()));
            queue.clear();
        }
        workers.forEach(Thread::interrupt);
    }

    /** Keystone's one answer to every failed login. */
    static final class TokenFaults {
        private TokenFaults() {
        }

        static ApiException unauthorized() {
            return ApiException.unauthorized("The request you have made requires authentication.");
        }
    }
}
