package io.halcyon.runtime;

import java.time.Instant;

/** Wall time for records and a monotonic clock for deadlines; tests substitute {@link ManualClock}. */
public interface Clock {
    Instant now();

    /** Monotonic nanoseconds, comparable only within one process. */
    long nanoTime();

    Clock SYSTEM = new Clock() {
        @Override
        public Instant now() {
            return Instant.now();
        }

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }
    };
}
