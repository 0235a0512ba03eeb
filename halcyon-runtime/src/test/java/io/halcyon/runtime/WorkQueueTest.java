package io.halcyon.runtime;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class WorkQueueTest {
    @Test
    void aKeyAddedManyTimesIsQueuedOnce() throws InterruptedException {
        var q = new WorkQueue("t", Duration.ofMillis(5), Duration.ofSeconds(1));
        q.add("a");
        q.add("a");
        q.add("b");
        assertThat(q.length()).isEqualTo(2);
        assertThat(q.take()).isEqualTo("a");
        assertThat(q.take()).isEqualTo("b");
        q.shutdown();
    }

    @Test
    void aKeyInProcessIsNotHandedOutAgainUntilDone() throws InterruptedException {
        var q = new WorkQueue("t", Duration.ofMillis(5), Duration.ofSeconds(1));
        q.add("a");
        assertThat(q.take()).isEqualTo("a");
        q.add("a");
        assertThat(q.length()).isZero();
        q.done("a");
        assertThat(q.length()).isEqualTo(1);
        assertThat(q.take()).isEqualTo("a");
        q.done("a");
        assertThat(q.length()).isZero();
        q.shutdown();
    }

    @Test
    void backoffDoublesAndIsCapped() {
        var q = new WorkQueue("t", Duration.ofMillis(10), Duration.ofSeconds(1));
        assertThat(q.backoff(1)).isEqualTo(Duration.ofMillis(10));
        assertThat(q.backoff(2)).isEqualTo(Duration.ofMillis(20));
        assertThat(q.backoff(5)).isEqualTo(Duration.ofMillis(160));
        assertThat(q.backoff(20)).isEqualTo(Duration.ofSeconds(1));
        assertThat(q.backoff(100)).isEqualTo(Duration.ofSeconds(1));
        q.shutdown();
    }
}
