package io.halcyon.scheduler;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.random.RandomGenerator;

import static java.util.Objects.requireNonNull;

/**
 * Decides where a server goes, as a pure function of host states: filters drop hosts that cannot
 * take it, the spread weigher prefers the most free RAM (then the fewest instances), and a random
 * pick among the best {@code hostSubsetSize} keeps concurrent decisions apart.
 */
public final class Scheduler {
    private final SchedulerConfig config;
    private final List<Filters.Filter> filters;

    public Scheduler(SchedulerConfig config, List<Filters.Filter> filters) {
        this.config = requireNonNull(config, "config is null");
        this.filters = List.copyOf(filters);
    }

    /** The chosen host, or the filter that eliminated the last candidates (for the fault details). */
    public record Decision(Optional<String> host, Map<String, Integer> rejectedBy) {
    }

    public Decision select(List<HostState> hosts, Demand demand, RandomGenerator random) {
        var candidates = new ArrayList<HostState>(hosts);
        var rejected = new LinkedHashMap<String, Integer>();
        for (Filters.Filter f : filters) {
            int before = candidates.size();
            candidates.removeIf(h -> !f.passes(h, demand, config));
            if (candidates.size() < before) {
                rejected.put(f.name(), before - candidates.size());
            }
            if (candidates.isEmpty()) {
                return new Decision(Optional.empty(), rejected);
            }
        }
        candidates.sort(Comparator.comparingDouble((HostState h) -> -freeRamWeight(h))
                .thenComparingInt(HostState::instances)
                .thenComparing(HostState::name));
        int subset = Math.min(config.hostSubsetSize(), candidates.size());
        return new Decision(Optional.of(candidates.get(random.nextInt(subset)).name()), rejected);
    }

    private double freeRamWeight(HostState h) {
        return Filters.capacity(h.ramMb(), h.reservedRamMb(), config.ramAllocationRatio()) - h.usedRamMb();
    }
}
