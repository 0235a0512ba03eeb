package io.halcyon.agent.sim;

import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.agent.driver.Observed;
import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.DiskSpec;
import io.halcyon.model.agent.NicSpec;
import io.halcyon.model.compute.PowerState;

import java.time.Duration;
import java.util.List;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Guests that exist only in memory, for control-plane scale benchmarks (thousands of hosts in one
 * process). Never used by tests of the data plane or by a real deployment.
 */
public final class SimulatedDriver implements GuestDriver {
    private final Map<String, Observed> guests = new ConcurrentHashMap<>();
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();

    @Override
    public List<Observed> discover() {
        return List.copyOf(guests.values());
    }

    @Override
    public Observed observe(String serverId) {
        return guests.get(serverId);
    }

    @Override
    public void spawn(Assignment a) {
        var volumes = new HashSet<String>();
        a.volumes().forEach(v -> volumes.add(v.volumeId()));
        var nics = new HashSet<String>();
        a.nics().forEach(n -> nics.add(n.portId()));
        guests.put(a.serverId(), new Observed(a.serverId(), a.epoch(), true, PowerState.RUNNING, a.rebootGeneration(), 0, volumes, nics));
    }

    @Override
    public boolean powerDown(String serverId, Duration timeout) {
        guests.computeIfPresent(serverId, (k, o) -> new Observed(k, o.epoch(), true, PowerState.SHUTDOWN, o.rebootDone(), 0,
                o.volumes(), o.nics()));
        return true;
    }

    @Override
    public void reset(String serverId, long rebootGeneration) {
        guests.computeIfPresent(serverId, (k, o) -> new Observed(k, o.epoch(), true, PowerState.RUNNING, rebootGeneration, 0,
                o.volumes(), o.nics()));
    }

    @Override
    public void kill(String serverId) {
        guests.computeIfPresent(serverId, (k, o) -> new Observed(k, o.epoch(), false, PowerState.SHUTDOWN, o.rebootDone(), 0,
                Set.of(), Set.of(), true));
    }

    @Override
    public void destroy(String serverId) {
        guests.remove(serverId);
    }

    @Override
    public void attach(String serverId, DiskSpec volume) {
        guests.computeIfPresent(serverId, (k, o) -> new Observed(k, o.epoch(), o.alive(), o.power(), o.rebootDone(), 0,
                plus(o.volumes(), volume.volumeId()), o.nics()));
    }

    @Override
    public void detach(String serverId, String volumeId) {
        guests.computeIfPresent(serverId, (k, o) -> {
            var left = new HashSet<>(o.volumes());
            left.remove(volumeId);
            return new Observed(k, o.epoch(), o.alive(), o.power(), o.rebootDone(), 0, left, o.nics());
        });
    }

    private static Set<String> plus(Set<String> s, String id) {
        var out = new HashSet<>(s);
        out.add(id);
        return out;
    }

    @Override
    public void plugNic(String serverId, NicSpec nic) {
        guests.computeIfPresent(serverId, (k, o) -> new Observed(k, o.epoch(), o.alive(), o.power(), o.rebootDone(), 0, o.volumes(),
                plus(o.nics(), nic.portId())));
    }

    @Override
    public void unplugNic(String serverId, String portId) {
        guests.computeIfPresent(serverId, (k, o) -> {
            var left = new HashSet<>(o.nics());
            left.remove(portId);
            return new Observed(k, o.epoch(), o.alive(), o.power(), o.rebootDone(), 0, o.volumes(), left);
        });
    }

    @Override
    public String console(String serverId, Integer lines) {
        return guests.containsKey(serverId) ? "simulated guest " + serverId + "\n" : null;
    }

    @Override
    public boolean needsImage() {
        return false;
    }

    @Override
    public void onChange(Consumer<String> listener) {
        listeners.add(listener);
    }
}
