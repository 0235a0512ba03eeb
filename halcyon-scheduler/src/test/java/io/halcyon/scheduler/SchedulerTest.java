package io.halcyon.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class SchedulerTest {
    static HostState host(String name, boolean up, int ramMb, int usedRam, int instances) {
        return new HostState(name, up, true, 2, ramMb, 100, 0, 0, 0, instances, usedRam, instances, instances);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // case, host ram, reserved ram, used ram, demand ram, cpus, used vcpus, demand vcpus, fits
            "fits exactly,           1280, 0,   1152, 128, 2, 9,  1, true",
            "one MB too many,        1280, 0,   1153, 128, 2, 9,  1, false",
            "reserved RAM counts,    2048, 768, 1152, 128, 2, 9,  1, true",
            "reserved RAM excludes,  2048, 769, 1152, 128, 2, 9,  1, false",
            "vcpus at 16x ratio,     8192, 0,   0,    128, 2, 31, 1, true",
            "vcpus past 16x ratio,   8192, 0,   0,    128, 2, 32, 1, false",
    })
    void filtersCountCapacityAsNovaDoes(String name, int ram, int reserved, int used, int demandRam, int cpus, int usedCpus,
                                        int demandCpus, boolean fits) {
        var h = new HostState("h", true, true, cpus, ram, 100, 0, reserved, 0, usedCpus, used, 0, 0);
        var s = new Scheduler(SchedulerConfig.defaults(), Filters.DEFAULT);
        var d = s.select(List.of(h), new Demand("s", demandCpus, demandRam, 1), new Random(1));
        assertThat(d.host().isPresent()).as(name).isEqualTo(fits);
    }

    @Test
    void downAndDisabledHostsAreSkipped() {
        var disabled = new HostState("b", true, false, 2, 4096, 100, 0, 0, 0, 0, 0, 0, 0);
        var s = new Scheduler(SchedulerConfig.defaults(), Filters.DEFAULT);
        var d = s.select(List.of(host("a", false, 4096, 0, 0), disabled), new Demand("s", 1, 128, 1), new Random(1));
        assertThat(d.host()).isEmpty();
        assertThat(d.rejectedBy()).containsEntry("ComputeFilter", 2);
    }

    @Test
    void spreadPrefersTheHostWithMostFreeRam() {
        var s = new Scheduler(new SchedulerConfig(16, 1, 1, 1), Filters.DEFAULT);
        var d = s.select(List.of(host("busy", true, 4096, 2048, 5), host("idle", true, 4096, 0, 0), host("mid", true, 4096, 1024, 2)),
                new Demand("s", 1, 128, 1), new Random(1));
        assertThat(d.host()).contains("idle");
    }

    @Test
    void theRandomPickStaysWithinTheBestSubset() {
        var s = new Scheduler(new SchedulerConfig(16, 1, 1, 2), Filters.DEFAULT);
        var hosts = List.of(host("a", true, 4096, 0, 0), host("b", true, 4096, 100, 0), host("c", true, 4096, 3000, 0));
        var r = new Random(7);
        for (int i = 0; i < 50; i++) {
            assertThat(s.select(hosts, new Demand("s", 1, 128, 1), r).host().orElseThrow()).isIn("a", "b");
        }
    }
}
