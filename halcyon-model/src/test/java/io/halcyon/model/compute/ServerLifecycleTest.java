package io.halcyon.model.compute;

import io.halcyon.model.InvalidStateException;
import io.halcyon.model.agent.GuestReport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ServerLifecycleTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Instant T1 = T0.plusSeconds(1);

    static Server building() {
        var flavor = new FlavorSnapshot("f1", "m1.tiny", 1, 128, 1, 0, 0, Map.of());
        var spec = new ServerSpec("vm", null, flavor, "img", Map.of(), null, false, null, "nova", null, null,
                PowerIntent.ON, 0, RebootType.SOFT, false, null);
        return new Server("s1", "p1", "u1", T0, spec, ServerStatus.building(T0));
    }

    static Server active() {
        var placed = ServerLifecycle.placed(building(), "h1", T0);
        return ServerLifecycle.observe(placed, report(placed, PowerState.RUNNING, 0), T0).next();
    }

    static GuestReport report(Server s, PowerState p, long rebootGen) {
        return new GuestReport(s.id(), s.status().epoch(), p, rebootGen, false, null, 250, null, null);
    }

    @Test
    void placementRaisesTheEpochAndStartsSpawning() {
        Server s = ServerLifecycle.placed(building(), "h1", T1);
        assertThat(s.status().host()).isEqualTo("h1");
        assertThat(s.status().epoch()).isEqualTo(1);
        assertThat(s.status().taskState()).isEqualTo(TaskState.SPAWNING);
        assertThat(s.status().apiStatus()).isEqualTo("BUILD");
        assertThatThrownBy(() -> ServerLifecycle.placed(s, "h2", T1)).isInstanceOf(InvalidStateException.class);
    }

    @Test
    void runningReportMakesABuildActive() {
        Server s = active();
        assertThat(s.status().apiStatus()).isEqualTo("ACTIVE");
        assertThat(s.status().taskState()).isNull();
        assertThat(s.status().launchedAt()).isEqualTo(T0);
        assertThat(s.status().qemuStartMillis()).isEqualTo(250);
    }

    @Test
    void spawnFaultMakesErrorAndReleasesTheHost() {
        Server placed = ServerLifecycle.placed(building(), "h1", T0);
        var obs = ServerLifecycle.observe(placed, new GuestReport("s1", 1, PowerState.NOSTATE, 0, false, "qemu failed", 0, null, null), T1);
        assertThat(obs.next().status().apiStatus()).isEqualTo("ERROR");
        assertThat(obs.next().status().fault().message()).isEqualTo("qemu failed");
        assertThat(obs.next().status().host()).isNull();
        assertThat(obs.releaseClaim()).isTrue();
        assertThat(obs.completed().result()).isEqualTo("Error");
    }

    @Test
    void stopThenStart() {
        Server stopping = ServerLifecycle.requestStop(active(), T1);
        assertThat(stopping.spec().power()).isEqualTo(PowerIntent.OFF);
        assertThat(stopping.status().apiStatus()).isEqualTo("ACTIVE");
        Server stopped = ServerLifecycle.observe(stopping, report(stopping, PowerState.SHUTDOWN, 0), T1).next();
        assertThat(stopped.status().apiStatus()).isEqualTo("SHUTOFF");
        assertThatThrownBy(() -> ServerLifecycle.requestStop(stopped, T1))
                .isInstanceOf(InvalidStateException.class)
                .hasMessage("Cannot 'stop' instance s1 while it is in vm_state stopped");
        Server starting = ServerLifecycle.requestStart(stopped, T1);
        assertThat(ServerLifecycle.observe(starting, report(starting, PowerState.RUNNING, 0), T1).next().status().apiStatus())
                .isEqualTo("ACTIVE");
    }

    @ParameterizedTest
    @CsvSource({"SOFT,REBOOT", "HARD,HARD_REBOOT"})
    void rebootCompletesWhenTheGenerationIsReached(RebootType type, String during) {
        Server r = ServerLifecycle.requestReboot(active(), type, T1);
        assertThat(r.status().apiStatus()).isEqualTo(during);
        assertThat(r.spec().rebootGeneration()).isEqualTo(1);
        assertThat(ServerLifecycle.observe(r, report(r, PowerState.RUNNING, 0), T1).next().status().apiStatus()).isEqualTo(during);
        var done = ServerLifecycle.observe(r, report(r, PowerState.RUNNING, 1), T1);
        assertThat(done.next().status().apiStatus()).isEqualTo("ACTIVE");
        assertThat(done.completed().action()).isEqualTo("reboot");
    }

    @Test
    void softRebootOfAStoppedServerIsRefusedButHardRebootStartsIt() {
        Server stopping = ServerLifecycle.requestStop(active(), T1);
        Server stopped = ServerLifecycle.observe(stopping, report(stopping, PowerState.SHUTDOWN, 0), T1).next();
        assertThatThrownBy(() -> ServerLifecycle.requestReboot(stopped, RebootType.SOFT, T1)).isInstanceOf(InvalidStateException.class);
        Server hard = ServerLifecycle.requestReboot(stopped, RebootType.HARD, T1);
        assertThat(hard.spec().power()).isEqualTo(PowerIntent.ON);
        assertThat(ServerLifecycle.observe(hard, report(hard, PowerState.RUNNING, 1), T1).next().status().apiStatus()).isEqualTo("ACTIVE");
    }

    @Test
    void aGuestThatPowersItselfOffBecomesStopped() {
        Server s = active();
        var obs = ServerLifecycle.observe(s, report(s, PowerState.SHUTDOWN, 0), T1);
        assertThat(obs.next().status().apiStatus()).isEqualTo("SHUTOFF");
        assertThat(obs.next().spec().power()).isEqualTo(PowerIntent.OFF);
    }

    @Test
    void deleteIsRemovedOnlyWhenTheAgentReportsItGone() {
        Server d = ServerLifecycle.requestDelete(active(), T1);
        assertThat(d.status().taskState()).isEqualTo(TaskState.DELETING);
        assertThat(ServerLifecycle.observe(d, report(d, PowerState.RUNNING, 0), T1).remove()).isFalse();
        var gone = ServerLifecycle.observe(d, new GuestReport("s1", 1, PowerState.NOSTATE, 0, true, null, 0, null, null), T1);
        assertThat(gone.remove()).isTrue();
        assertThat(gone.releaseClaim()).isTrue();
        assertThatThrownBy(() -> ServerLifecycle.requestStop(d, T1)).isInstanceOf(InvalidStateException.class);
    }

    @Test
    void reportsFromAnOldPlacementAreNotCurrent() {
        Server s = active();
        assertThat(ServerLifecycle.isCurrent(s, "h1", report(s, PowerState.RUNNING, 0))).isTrue();
        assertThat(ServerLifecycle.isCurrent(s, "h2", report(s, PowerState.RUNNING, 0))).isFalse();
        assertThat(ServerLifecycle.isCurrent(s, "h1", new GuestReport("s1", 0, PowerState.RUNNING, 0, false, null, 0, null, null))).isFalse();
    }

    @Test
    void anEvacuationIsANewPlacementThatCompletesWhenTheNewHostRunsIt() {
        Server s = active();
        Server waiting = ServerLifecycle.awaitingRecovery(s, T1);
        assertThat(waiting.status().apiStatus()).isEqualTo("REBUILD");
        Server blocked = ServerLifecycle.recoveryBlocked(waiting, "No valid host for HA recovery: none up.", T1);
        assertThat(blocked.status().apiStatus()).isEqualTo("ERROR");
        Server moved = ServerLifecycle.evacuated(blocked, "h2", T1);
        assertThat(moved.status().host()).isEqualTo("h2");
        assertThat(moved.status().epoch()).isEqualTo(s.status().epoch() + 1);
        assertThat(moved.status().fault()).isNull();
        assertThat(moved.status().apiStatus()).isEqualTo("REBUILD");
        var obs = ServerLifecycle.observe(moved, report(moved, PowerState.RUNNING, 0), T1);
        assertThat(obs.next().status().apiStatus()).isEqualTo("ACTIVE");
        assertThat(obs.completed().action()).isEqualTo(InstanceAction.EVACUATE);
        assertThat(obs.completed().event()).isEqualTo("compute_rebuild_instance");
    }

    @Test
    void aFencedNonHaServerIsOffAndAnHaGuestOverItsRestartLimitIsInErrorAndOff() {
        Server off = ServerLifecycle.stoppedByFence(active(), T1);
        assertThat(off.status().apiStatus()).isEqualTo("SHUTOFF");
        assertThat(off.spec().power()).isEqualTo(PowerIntent.OFF);
        Server s = active();
        var obs = ServerLifecycle.observe(s, new GuestReport(s.id(), s.status().epoch(), PowerState.SHUTDOWN, 0, false, "restart limit", 0,
                null, null), T1);
        assertThat(obs.next().status().apiStatus()).isEqualTo("ERROR");
        assertThat(obs.next().status().fault().message()).isEqualTo("restart limit");
        assertThat(obs.next().spec().power()).isEqualTo(PowerIntent.OFF);
    }
}
