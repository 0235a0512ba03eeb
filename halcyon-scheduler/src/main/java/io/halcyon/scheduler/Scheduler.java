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
 * pick among the best {@code hostSubsetSize} (or among all hosts tied for best, if more) keeps
 * concurrent decisions apart.
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
        var candidates = new ArrayList<HostState>(hosts.size());
        var rejected = new LinkedHashMap<String, Integer>();
        int[] rejections = new int[filters.size()];
        for (HostState h : hosts) {
            boolean ok = true;
            for (int i = 0; i < filters.size() && ok; i++) {
                if (!filters.get(i).passes(h, demand, config)) {
                    rejections[i]++;
                    ok = false;
                }
            }
            if (ok) {
                candidates.add(h);
            }
        }
        for (int i = 0; i < filters.size(); i++) {
            if (rejections[i] > 0) {
                rejected.put(filters.get(i).name(), rejections[i]);
            }
        }
        if (candidates.isEmpty()) {
            return new Decision(Optional.empty(), rejected);
        }
        // hosts that weigh the same as the best are equally good: choosing among all of them keeps
        // concurrent decisions from racing for one host's claim
        double best = Double.NEGATIVE_INFINITY;
        int bestInstances = Integer.MAX_VALUE;
        for (HostState h : candidates) {
            double w = freeRamWeight(h);
            if (w > best || (w == best && h.instances() < bestInstances)) {
                best = w;
                bestInstances = h.instances();
            }
        }
        var ties = new ArrayList<HostState>();
        for (HostState h : candidates) {
            if (freeRamWeight(h) == best && h.instances() == bestInstances) {
                ties.add(h);
            }
        }
        if (ties.size() >= config.hostSubsetSize() || ties.size() == candidates.size()) {
            return new Decision(Optional.of(ties.get(random.nextInt(ties.size())).name()), rejected);
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
