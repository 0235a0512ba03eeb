package io.halcyon.scheduler;

import java.util.List;

/** The filters, as pure predicates; each names itself in "No valid host" details. */
public final class Filters {
    private Filters() {
    }

    public interface Filter {
        String name();

        boolean passes(HostState h, Demand d, SchedulerConfig c);
    }

    static long capacity(int total, int reserved, double ratio) {
        return (long) Math.floor((total - reserved) * ratio);
    }

    public static final Filter COMPUTE = new Filter() {
        public String name() {
            return "ComputeFilter";
        }

        public boolean passes(HostState h, Demand d, SchedulerConfig c) {
            return h.up() && h.enabled();
        }
    };

    public static final Filter RAM = new Filter() {
        public String name() {
            return "RamFilter";
        }

        public boolean passes(HostState h, Demand d, SchedulerConfig c) {
            return h.usedRamMb() + (long) d.ramMb() <= capacity(h.ramMb(), h.reservedRamMb(), c.ramAllocationRatio());
        }
    };

    public static final Filter CORE = new Filter() {
        public String name() {
            return "CoreFilter";
        }

        public boolean passes(HostState h, Demand d, SchedulerConfig c) {
            return h.usedVcpus() + (long) d.vcpus() <= capacity(h.cpus(), h.reservedCpus(), c.cpuAllocationRatio());
        }
    };

    public static final Filter DISK = new Filter() {
        public String name() {
            return "DiskFilter";
        }

        public boolean passes(HostState h, Demand d, SchedulerConfig c) {
            return h.usedDiskGb() + (long) d.diskGb() <= capacity(h.diskGb(), h.reservedDiskGb(), c.diskAllocationRatio());
        }
    };

    /** Nova's ServerGroupAntiAffinityFilter and ServerGroupAffinityFilter in one: the server group's policy. */
    public static final Filter SERVER_GROUP = new Filter() {
        public String name() {
            return "ServerGroupFilter";
        }

        public boolean passes(HostState h, Demand d, SchedulerConfig c) {
            return !d.avoidHosts().contains(h.name()) && (d.requireHost() == null || d.requireHost().equals(h.name()));
        }
    };

    public static final List<Filter> DEFAULT = List.of(COMPUTE, RAM, CORE, DISK, SERVER_GROUP);
}
