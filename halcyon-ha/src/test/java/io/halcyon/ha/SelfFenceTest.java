package io.halcyon.ha;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class SelfFenceTest {
    @Test
    void firesOnceAfterTheTimeoutCountedFromTheLastSend() {
        var f = new SelfFence(Duration.ofSeconds(4), 0);
        f.renewed(1000, true, true, 10);
        assertThat(f.fire(4999)).isFalse();
        assertThat(f.mayPet(4999)).isTrue();
        assertThat(f.fire(5000)).isTrue();
        assertThat(f.fire(5100)).isFalse();
        assertThat(f.mayPet(5000)).isFalse();
    }

    @Test
    void anOldAnswerNeverMovesTheClockBack() {
        var f = new SelfFence(Duration.ofSeconds(4), 0);
        f.renewed(3000, true, true, 12);
        f.renewed(2000, true, true, 11);
        assertThat(f.fire(6999)).isFalse();
        assertThat(f.fire(7000)).isTrue();
    }

    @Test
    void disarmedNeverFiresAndAlwaysPets() {
        var f = new SelfFence(Duration.ofSeconds(4), 0);
        f.renewed(0, false, false, 1);
        assertThat(f.fire(60_000)).isFalse();
        assertThat(f.mayPet(60_000)).isTrue();
    }

    @Test
    void afterFiringHaGuestsWaitForAnAssignmentListNewerThanTheNextRenewal() {
        var f = new SelfFence(Duration.ofSeconds(4), 0);
        f.renewed(0, true, true, 5);
        assertThat(f.fire(4000)).isTrue();
        assertThat(f.mayStartHaGuests(100)).isFalse();
        f.renewed(4500, true, true, 120);
        assertThat(f.mayPet(4600)).isTrue();
        assertThat(f.mayStartHaGuests(119)).isFalse();
        assertThat(f.mayStartHaGuests(120)).isTrue();
        assertThat(f.fired()).isFalse();
        assertThat(f.mayStartHaGuests(1)).isTrue();
    }

    @Test
    void standingDownWaitsForARenewalThatSaidSo() {
        var f = new SelfFence(Duration.ofSeconds(4), 0, true);
        assertThat(f.toSend()).isTrue();
        // the answer to a renewal that said "armed" asks to stand down: still enforcing
        f.renewed(1000, true, false, 10);
        assertThat(f.armed()).isTrue();
        assertThat(f.toSend()).isFalse();
        // cut here: the record says armed, and the agent still fires
        assertThat(f.fire(5000)).isTrue();
    }

    @Test
    void aRenewalThatSaidDisarmedEndsTheSelfFence() {
        var f = new SelfFence(Duration.ofSeconds(4), 0, true);
        f.renewed(1000, true, false, 10);
        f.renewed(2000, f.toSend(), false, 11);
        assertThat(f.armed()).isFalse();
        assertThat(f.fire(60_000)).isFalse();
        assertThat(f.mayPet(60_000)).isTrue();
    }

    @Test
    void armingIsAtOnce() {
        var f = new SelfFence(Duration.ofSeconds(4), 0, false);
        assertThat(f.toSend()).isFalse();
        f.renewed(1000, false, true, 10);
        assertThat(f.armed()).isTrue();
        assertThat(f.toSend()).isTrue();
        assertThat(f.fire(5000)).isTrue();
    }
}
