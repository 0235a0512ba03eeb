package io.halcyon.ha.sim;

import io.halcyon.ha.HaAction;
import io.halcyon.ha.HostHaState;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The simulator's own checks can fail: a leader that skips fencing is caught running a guest twice. */
class SimulationTest {
    private static final String CUT = """
            host host1
            host host2
            guest vm1 on=host1 ha
            run 30s
            at 10s freeze host1 for 15s
            """;

    @Test
    void aLeaderThatRestartsWithoutFencingIsCaught() {
        // without the storage leases, which would otherwise hold the second start back until host1 is gone
        var sim = new Simulation(Scenario.parse("unsafe", "leases off\n" + CUT)).tamper(actions -> {
            var out = new ArrayList<HaAction>();
            for (HaAction a : actions) {
                if (a instanceof HaAction.Transition t && t.to() == HostHaState.DOWN) {
                    out.add(new HaAction.Transition(t.host(), t.from(), HostHaState.FENCED, "skipped fencing", t.beatRevision()));
                    out.add(new HaAction.Dispose(t.host(), List.of(), List.of("vm1")));
                } else if (a instanceof HaAction.Transition t && t.to() == HostHaState.UNFENCEABLE) {
                    continue;
                } else {
                    out.add(a);
                }
            }
            return out;
        });
        assertThatThrownBy(sim::run).isInstanceOf(AssertionError.class).hasMessageContaining("vm1 runs on [host1, host2] at once");
    }

    @Test
    void theSameScenarioIsSafeUntampered() {
        var log = new Simulation(Scenario.parse("safe", CUT)).run();
        assertThat(log).anyMatch(l -> l.contains("host1 down -> unfenceable"));
        assertThat(log).noneMatch(l -> l.contains("evacuated"));
    }

    /** Negative controls for the storage leases: a lying watchdog, a lying BMC; without leases the guest runs twice. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"54-lying-watchdog-stopped-agent", "58-bmc-lies"})
    void withoutLeasesALyingWatchdogOrBmcRunsTheGuestTwice(String name) throws Exception {
        String text;
        try (var in = SimulationTest.class.getResourceAsStream("/ha-scenarios/" + name + ".scenario")) {
            text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        assertThat(new Simulation(Scenario.parse(name, text)).run()).anyMatch(l -> l.contains("vm1 waits on host2"));
        var sim = new Simulation(Scenario.parse(name, "leases off\n" + text));
        assertThatThrownBy(sim::run).isInstanceOf(AssertionError.class).hasMessageContaining("vm1 runs on [host1, host2] at once");
    }

    @Test
    void badScenarioFilesAreRefusedWithTheLine() {
        assertThatThrownBy(() -> Scenario.parse("bad", "host h1\nat 10 power-off h1\n")).hasMessageContaining("bad:2")
                .hasMessageContaining("unit");
        assertThatThrownBy(() -> Scenario.parse("bad", "settings ttl=2s\n")).hasMessageContaining("unsafe HA settings");
    }
}
