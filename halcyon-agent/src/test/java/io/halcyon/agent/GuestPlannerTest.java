package io.halcyon.agent;

import io.halcyon.agent.driver.Observed;
import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.DiskSpec;
import io.halcyon.model.compute.FlavorSnapshot;
import io.halcyon.model.compute.PowerIntent;
import io.halcyon.model.compute.PowerState;
import io.halcyon.model.compute.RebootType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class GuestPlannerTest {
    static final DiskSpec ROOT = new DiskSpec(null, "file", "/srv/servers/s1.qcow2", "qcow2", null, "vda", false, null, 0);

    static Assignment assignment(String power, long epoch, long reboots, String type, boolean deleted) {
        return assignment(power, epoch, reboots, type, deleted, ROOT, Set.of());
    }

    static Assignment assignment(String power, long epoch, long reboots, String type, boolean deleted, DiskSpec root, Set<String> volumes) {
        var disks = volumes.stream().sorted()
                .map(v -> new DiskSpec(v, "file", "/srv/volumes/" + v + ".qcow2", "qcow2", v, "vdb", false, null, 0)).toList();
        return new Assignment("s1", epoch, "vm", "p", new FlavorSnapshot("1", "t", 1, 128, 1, 0, 0, Map.of()), null, null, false, "vm",
                Map.of(), "nova", PowerIntent.valueOf(power), reboots, RebootType.valueOf(type), deleted, Instant.EPOCH, root, disks, List.of());
    }

    static Set<String> set(String s) {
        return s == null ? Set.of() : Set.of(s.trim().split(" +"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(nullValues = "-", value = {
            // case,                                   power, root,  wanted, plugged, settled, alive, l.power,  step
            "volume to plug in,                        ON,    true,  a,      -,       -,       true,  RUNNING,  SYNC_VOLUMES",
            "volume to unplug,                         ON,    true,  -,      a,       -,       true,  RUNNING,  SYNC_VOLUMES",
            "one in one out,                           ON,    true,  a,      b,       -,       true,  RUNNING,  SYNC_VOLUMES",
            "volumes as wanted,                        ON,    true,  a b,    a b,     -,       true,  RUNNING,  NONE",
            "plug given up,                            ON,    true,  a b,    b,       a,       true,  RUNNING,  NONE",
            "unplug given up,                          ON,    true,  -,      a,       a,       true,  RUNNING,  NONE",
            "given up but another differs,             ON,    true,  a c,    b,       a,       true,  RUNNING,  SYNC_VOLUMES",
            "guest off: volumes wait for its boot,     ON,    true,  a,      -,       -,       true,  SHUTDOWN, NONE",
            "paused guest is not touched,              ON,    true,  a,      -,       -,       true,  PAUSED,   NONE",
            "boot volume still being made,             ON,    false, -,      -,       -,       false, SHUTDOWN, NONE",
            "boot volume ready,                        ON,    true,  -,      -,       -,       false, SHUTDOWN, SPAWN",
            "stopped server keeps its volumes cold,    OFF,   true,  a,      -,       -,       false, SHUTDOWN, NONE",
    })
    void followsTheAssignedVolumes(String name, String power, boolean root, String wanted, String plugged, String settled, boolean alive,
                                   String localPower, GuestPlanner.Step step) {
        Assignment a = assignment(power, 1, 0, "SOFT", false, root ? ROOT : null, set(wanted));
        Observed o = new Observed("s1", 1, alive, PowerState.valueOf(localPower), 0, 0, set(plugged));
        assertThat(GuestPlanner.next(a, o, set(settled))).as(name).isEqualTo(step);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(nullValues = "-", value = {
            // case,                              assigned, power, epoch, reboots, type, deleted, local, l.epoch, alive, l.power, done, step
            "nothing anywhere,                    false, ON,  1, 0, SOFT, false, false, 0, false, -,        0, NONE",
            "new guest,                           true,  ON,  1, 0, SOFT, false, false, 0, false, -,        0, SPAWN",
            "running as wanted,                   true,  ON,  1, 0, SOFT, false, true,  1, true,  RUNNING,  0, NONE",
            "stopped while wanted on,             true,  ON,  1, 0, SOFT, false, true,  1, false, SHUTDOWN, 0, SPAWN",
            "running while wanted off,            true,  OFF, 1, 0, SOFT, false, true,  1, true,  RUNNING,  0, POWER_OFF",
            "powered-off guest still a process,   true,  OFF, 1, 0, SOFT, false, true,  1, true,  SHUTDOWN, 0, POWER_OFF",
            "off as wanted,                       true,  OFF, 1, 0, SOFT, false, true,  1, false, SHUTDOWN, 0, NONE",
            "soft reboot pending,                 true,  ON,  1, 1, SOFT, false, true,  1, true,  RUNNING,  0, SOFT_REBOOT",
            "hard reboot pending,                 true,  ON,  1, 2, HARD, false, true,  1, true,  RUNNING,  1, HARD_REBOOT",
            "crashed guest is rebooted hard,      true,  ON,  1, 1, SOFT, false, true,  1, true,  CRASHED,  0, HARD_REBOOT",
            "reboot already done,                 true,  ON,  1, 1, SOFT, false, true,  1, true,  RUNNING,  1, NONE",
            "guest shut itself down,              true,  ON,  1, 0, SOFT, false, true,  1, true,  SHUTDOWN, 0, NONE",
            "deleted,                             true,  ON,  1, 0, SOFT, true,  true,  1, true,  RUNNING,  0, DESTROY",
            "deleted and gone,                    true,  ON,  1, 0, SOFT, true,  false, 0, false, -,        0, NONE",
            "orphan,                              false, ON,  1, 0, SOFT, false, true,  1, true,  RUNNING,  0, DESTROY",
            "stale assignment older than guest,   true,  ON,  1, 0, SOFT, false, true,  2, true,  RUNNING,  0, NONE",
            "leftover of an earlier placement,    true,  ON,  3, 0, SOFT, false, true,  2, true,  RUNNING,  0, DESTROY",
    })
    void decidesTheNextStep(String name, boolean assigned, String power, long epoch, long reboots, String type, boolean deleted,
                            boolean local, long localEpoch, boolean alive, String localPower, long done, GuestPlanner.Step step) {
        Assignment a = assigned ? assignment(power, epoch, reboots, type, deleted) : null;
        Observed o = local ? new Observed("s1", localEpoch, alive, localPower == null ? PowerState.NOSTATE : PowerState.valueOf(localPower),
                done, 0, Set.of()) : null;
        assertThat(GuestPlanner.next(a, o)).as(name).isEqualTo(step);
    }

    @org.junit.jupiter.api.Test
    void anHaGuestThatCrashedIsRestartedInPlaceAndOthersAreLeftCrashed() {
        var plain = assignment("ON", 1, 0, "SOFT", false);
        var ha = new Assignment(plain.serverId(), 1, "vm", "p", plain.flavor(), null, null, false, "vm", Map.of(), "nova", PowerIntent.ON, 0,
                RebootType.SOFT, false, Instant.EPOCH, ROOT, List.of(), List.of(), true);
        Observed crashed = new Observed("s1", 1, true, PowerState.CRASHED, 0, 0, Set.of());
        assertThat(GuestPlanner.next(ha, crashed)).isEqualTo(GuestPlanner.Step.HARD_REBOOT);
        assertThat(GuestPlanner.next(plain, crashed)).isEqualTo(GuestPlanner.Step.NONE);
        assertThat(ha.poweredOff().power()).isEqualTo(PowerIntent.OFF);
        assertThat(ha.poweredOff().ha()).isTrue();
    }
}
