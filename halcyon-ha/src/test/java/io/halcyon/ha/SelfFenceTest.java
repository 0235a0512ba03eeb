package io.halcyon.ha;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class SelfFenceTest {
    @Test
    void firesOnceAfterTheTimeoutCountedFromTheLastSend() {
        var f = new SelfFence(Duration.ofSeconds(4), 0);
        f.renewed(1000, true, 10);
        assertThat(f.fire(4999)).isFalse();
        assertThat(f.mayPet(4999)).isTrue();
        assertThat(f.fire(5000)).isTrue();
        assertThat(f.fire(5100)).isFalse();
        assertThat(f.mayPet(5000)).isFalse();
    }

    @Test
    void anOldAnswerNeverMovesTheClockBack() {
        var f = new SelfFence(Duration.ofSeconds(4), 0);
        f.renewed(3000, true, 12);
        f.renewed(2000, true, 11);
        assertThat(f.fire(6999)).isFalse();
        assertThat(f.fire(7000)).isTrue();
    }

    @Test
    void disarmedNeverFiresAndAlwaysPets() {
        var f = new SelfFence(Duration.ofSeconds(4), 0);
        f.renewed(0, false, 1);
        assertThat(f.fire(60_000)).isFalse();
        assertThat(f.mayPet(60_000)).isTrue();
    }

    @Test
    void afterFiringHaGuestsWaitForAnAssignmentListNewerThanTheNextRenewal() {
        var f = new SelfFence(Duration.ofSeconds(4), 0);
        f.renewed(0, true, 5);
        assertThat(f.fire(4000)).isTrue();
        assertThat(f.mayStartHaGuests(100)).isFalse();
        f.renewed(4500, true, 120);
        assertThat(f.mayPet(4600)).isTrue();
        assertThat(f.mayStartHaGuests(119)).isFalse();
        assertThat(f.mayStartHaGuests(120)).isTrue();
        assertThat(f.fired()).isFalse();
        assertThat(f.mayStartHaGuests(1)).isTrue();
    }
}
