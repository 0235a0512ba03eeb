package io.halcyon.http;

import java.time.Duration;

import static java.util.Objects.requireNonNull;

/**
 * What one listener allows each client and in total, so that no client can hold the threads,
 * sockets or memory others need.
 *
 * @param threads             worker threads
 * @param maxConnections      open connections in all; past it the listener stops accepting until some close
 * @param perClient           open connections from one address; more are closed as they arrive
 * @param headerTimeout       a new connection's first request must have arrived whole within this
 * @param idleTimeout         a connection with nothing to read for this long is closed; also how long a
 *                            keep-alive connection may take to send its next request
 * @param bodyTimeout         every request body gets this long, plus its size at {@code minBodyRate}
 * @param minBodyRate         bytes per second a body must at least arrive at
 * @param maxActive           requests running at once; others wait
 * @param maxQueued           requests waiting; past it, or after {@code queueTimeout}, a request gets 503
 * @param queueTimeout        how long a request may wait for its turn
 */
public record Limits(int threads, int maxConnections, int perClient, Duration headerTimeout, Duration idleTimeout, Duration bodyTimeout,
                     long minBodyRate, int maxActive, int maxQueued, Duration queueTimeout) {
    public Limits {
        requireNonNull(headerTimeout, "headerTimeout is null");
        requireNonNull(idleTimeout, "idleTimeout is null");
        requireNonNull(bodyTimeout, "bodyTimeout is null");
        requireNonNull(queueTimeout, "queueTimeout is null");
        if (threads < 4 || maxConnections < 1 || perClient < 1 || maxActive < 1 || maxQueued < 0 || minBodyRate < 1) {
            throw new IllegalArgumentException("listener limits out of range: " + threads + " threads, " + maxConnections
                    + " connections, " + perClient + " per client, " + maxActive + " active, " + maxQueued + " queued");
        }
    }

    /** The public API's: many clients, some of them hostile. */
    public static Limits publicApi(int threads) {
        return new Limits(threads, 4096, 64, Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(10), 16 * 1024,
                Math.max(4, threads - 16), 1024, Duration.ofSeconds(5));
    }

    /** An internal listener's (agents, consoles): few callers, all holding the cluster's token. */
    public static Limits internal(int threads) {
        return new Limits(threads, 1024, 256, Duration.ofSeconds(10), Duration.ofSeconds(120), Duration.ofSeconds(30), 16 * 1024,
                Math.max(2, threads - 4), 256, Duration.ofSeconds(10));
    }
}
