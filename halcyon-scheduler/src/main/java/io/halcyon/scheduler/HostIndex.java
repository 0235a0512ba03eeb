package io.halcyon.scheduler;

import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * Each host's scheduling view, kept current by informer handlers so a decision does not rebuild it
 * from a thousand records. An entry pairs the host's state with the exact allocation record it was
 * computed from, which is what a claim compares against.
 */
final class HostIndex {
    record Entry(HostState state, Versioned<HostAllocation> allocation) {
    }

    private final Resources res;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();

    HostIndex(Resources res) {
        this.res = requireNonNull(res, "res is null");
        res.hosts().addHandler((name, old, now) -> refresh(name));
        res.allocations().addHandler((name, old, now) -> refresh(name));
        res.hostLeases().addHandler((name, old, now) -> refresh(name));
        res.hostHa().addHandler((name, old, now) -> refresh(name));
        res.hostHaConfig().addHandler((name, old, now) -> refresh(name));
        for (var h : res.hosts().list()) {
            refresh(h.value().name());
        }
    }

    void refresh(String name) {
        Optional<Versioned<Host>> host = res.hosts().get(name);
        if (host.isEmpty()) {
            entries.remove(name);
            return;
        }
        Host h = host.get().value();
        Versioned<HostAllocation> alloc = res.allocations().get(name).orElse(null);
        HostAllocation a = alloc == null ? HostAllocation.empty(name) : alloc.value();
        entries.put(name, new Entry(new HostState(h.name(), up(name), h.enabled(), h.cpus(), h.ramMb(), h.diskGb(),
                h.reservedCpus(), h.reservedRamMb(), h.reservedDiskGb(), a.usedVcpus(), a.usedRamMb(), a.usedDiskGb(),
                a.claims().size()), alloc));
    }

    // "maintenance": the HA monitor has not yet seen maintenance turned off; the host's own setting decides below
    private static final java.util.Set<String> TAKES_GUESTS = java.util.Set.of("up", "suspect", "maintenance");

    /** Takes new guests: its lease is held, HA has not called it down, and it is not in maintenance. */
    private boolean up(String name) {
        boolean maintenance = res.hostHaConfig().get(name).map(v -> v.value().maintenance()).orElse(false);
        return res.hostUp(name) && TAKES_GUESTS.contains(res.hostHaState(name)) && !maintenance;
    }

    List<Entry> entries() {
        return List.copyOf(entries.values());
    }
}
