package io.halcyon.ha;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class RestartBudgetTest {
    @Test
    void allowsTheLimitPerSlidingWindowPerGuest() {
        var b = new RestartBudget(2, Duration.ofSeconds(10));
        assertThat(b.take("a", 0)).isTrue();
        assertThat(b.take("a", 1000)).isTrue();
        assertThat(b.take("a", 2000)).isFalse();
        assertThat(b.take("b", 2000)).isTrue();
        assertThat(b.take("a", 10_000)).isTrue();
        assertThat(b.take("a", 10_500)).isFalse();
        b.forget("a");
        assertThat(b.take("a", 10_500)).isTrue();
    }
}
