package io.halcyon.ha;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HaSettingsTest {
    private static HaSettings with(long renew, long ttl, long suspect, long self, long margin) {
        var d = HaSettings.defaults();
        return new HaSettings(Duration.ofMillis(renew), Duration.ofMillis(ttl), Duration.ofMillis(suspect), Duration.ofMillis(self),
                Duration.ofMillis(margin), d.brakeShare(), d.brakeWindow(), d.bmcRetryInterval(), d.bmcAttempts(), d.restartLimit(), d.restartWindow(),
                d.defaultPolicy());
    }

    @Test
    void defaultsAreSafeAndGiveAnElevenSecondDeadline() {
        var d = HaSettings.defaults();
        assertThat(d.problems()).isEmpty();
        assertThat(d.renewInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(d.leaseTtl()).isEqualTo(Duration.ofSeconds(5));
        assertThat(d.selfFenceTimeout()).isEqualTo(Duration.ofSeconds(4));
        assertThat(d.fenceMargin()).isEqualTo(Duration.ofSeconds(2));
        assertThat(d.brakeShare()).isEqualTo(0.5);
        assertThat(d.defaultPolicy()).isEqualTo(new HaPolicy(false, 0));
        assertThat(d.selfFenceWait(Duration.ofSeconds(4))).contains(Duration.ofSeconds(11));
        assertThat(d.selfFenceWait(Duration.ofSeconds(10))).contains(Duration.ofSeconds(17));
        assertThat(d.selfFenceWait(null)).isEmpty();
    }

    @Test
    void refusesASelfFenceThatOutlivesTheLease() {
        assertThat(with(1000, 5000, 2000, 5000, 2000).problems()).anyMatch(p -> p.contains("selfFenceTimeout") && p.contains("less than leaseTtl"));
        assertThatThrownBy(() -> with(1000, 5000, 2000, 6000, 2000).validated()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("selfFenceTimeout");
    }

    @Test
    void refusesTimeoutsThatOneLostRenewalWouldTrip() {
        assertThat(with(1000, 2000, 1000, 1500, 2000).problems())
                .anyMatch(p -> p.startsWith("leaseTtl"))
                .anyMatch(p -> p.startsWith("selfFenceTimeout") && p.contains("2 x renewInterval"));
        assertThat(with(1000, 5000, 500, 4000, 2000).problems()).anyMatch(p -> p.startsWith("suspectAfter"));
        assertThat(with(1000, 5000, 5000, 4000, 2000).problems()).anyMatch(p -> p.startsWith("suspectAfter"));
    }

    @Test
    void refusesASmallMargin() {
        assertThat(with(1000, 5000, 2000, 4000, 500).problems()).anyMatch(p -> p.startsWith("fenceMargin"));
    }

    @Test
    void aWatchdogTooSlowForTheMarginDoesNotCount() {
        var s = with(1000, 5000, 2000, 4000, 1000);
        // D = 5 + 120 + 1 = 126 s: 126 x 0.99 = 124.74 < (4 + 120) x 1.01 = 125.24
        assertThat(s.selfFenceWait(Duration.ofSeconds(120))).isEmpty();
        // D = 5 + 60 + 1 = 66 s: 65.34 > 64.64
        assertThat(s.selfFenceWait(Duration.ofSeconds(60))).contains(Duration.ofSeconds(66));
    }

    @Test
    void theDeadlineAlwaysExceedsTheAgentsWorstCase() {
        for (long renew = 200; renew <= 3000; renew += 400) {
            for (long ttl = 3 * renew; ttl <= 20_000; ttl += 1700) {
                for (long self = 2 * renew; self < ttl; self += 900) {
                    for (long w = 500; w <= 60_000; w += 3100) {
                        var s = with(renew, ttl, renew, self, 2000);
                        if (!s.problems().isEmpty()) {
                            continue;
                        }
                        var d = s.selfFenceWait(Duration.ofMillis(w));
                        if (d.isPresent()) {
                            long dm = d.get().toMillis();
                            assertThat(dm * (1 - HaSettings.CLOCK_RATE_ERROR)).isGreaterThan((self + w) * (1 + HaSettings.CLOCK_RATE_ERROR));
                            assertThat(dm * (1 - HaSettings.CLOCK_RATE_ERROR))
                                    .isGreaterThan(self * (1 + HaSettings.CLOCK_RATE_ERROR) + HaSettings.KILL_BUDGET.toMillis());
                        }
                    }
                }
            }
        }
    }
}
