package io.halcyon.controller.ha;

import io.halcyon.ha.GuestInput;
import io.halcyon.ha.HaPolicy;
import io.halcyon.ha.HaSettings;
import io.halcyon.ha.HostHaState;
import io.halcyon.ha.HostInput;
import io.halcyon.model.compute.PowerIntent;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.VmState;
import io.halcyon.model.host.Claim;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.model.host.HostHaConfig;
import io.halcyon.model.host.HostHaStatus;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.scheduler.SchedulerConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Reads the HA monitor's inputs from the controller's cache: what the store holds right now. */
final class HaInputs {
    private HaInputs() {
    }

    /** @param heard the newest revision at which each host's renewal was written, one by one or in a batch */
    static List<HostInput> hosts(Resources res, SchedulerConfig sched, boolean bmcUsable, java.util.Map<String, Long> heard,
                                 java.util.Map<String, Long> witnessBeats) {
        var out = new ArrayList<HostInput>();
        for (Versioned<Host> v : res.hosts().list()) {
            Host h = v.value();
            var beat = res.hostBeats().get(h.name());
            HostHaConfig cfg = res.hostHaConfig().get(h.name()).map(Versioned::value).orElse(null);
            HostHaStatus st = res.hostHa().get(h.name()).map(Versioned::value).orElse(null);
            HostAllocation a = res.allocations().get(h.name()).map(Versioned::value).orElse(HostAllocation.empty(h.name()));
            long beatRevision = beat.map(Versioned::revision).orElse(0L);
            out.add(new HostInput(h.name(), beatRevision, Math.max(beatRevision, heard.getOrDefault(h.name(), 0L)),
                    beat.map(b -> b.value().armed()).orElse(false), beat.map(b -> b.value().witness()).orElse(false),
                    witnessBeats.getOrDefault(h.name(), 0L),
                    bmcUsable && cfg != null && cfg.bmc() != null,
                    h.watchdogTimeoutMillis() > 0 ? Duration.ofMillis(h.watchdogTimeoutMillis()) : null,
                    cfg != null && cfg.maintenance(), cfg != null && cfg.disarmed(), state(st), st == null ? 0 : st.fencedBeat(),
                    h.enabled() && res.hostUp(h.name()),
                    free(h.cpus(), h.reservedCpus(), sched.cpuAllocationRatio(), a.usedVcpus()),
                    free(h.ramMb(), h.reservedRamMb(), sched.ramAllocationRatio(), a.usedRamMb()),
                    free(h.diskGb(), h.reservedDiskGb(), sched.diskAllocationRatio(), a.usedDiskGb())));
        }
        return out;
    }

    static HostHaState state(HostHaStatus st) {
        return st == null ? HostHaState.UP : HostHaState.valueOf(st.state().toUpperCase(Locale.ROOT));
    }

    private static int free(int total, int reserved, double ratio, int used) {
        return (int) Math.max(Integer.MIN_VALUE, Math.floor((total - reserved) * ratio) - used);
    }

    static List<GuestInput> guests(Resources res, HaSettings settings) {
        var out = new ArrayList<GuestInput>();
        for (Versioned<Server> v : res.servers().list()) {
            Server s = v.value();
            if (s.spec().deleted() || s.status().host() == null) {
                continue;
            }
            Claim c = claim(s);
            // a record whose server has left its host is a recovery done, kept until every cache has seen the move
            boolean pending = res.haRecoveries().get(s.id()).map(r -> r.value().fromHost().equals(s.status().host())).orElse(false);
            boolean wants = s.spec().power() == PowerIntent.ON
                    && (s.status().vmState() == VmState.ACTIVE || s.status().vmState() == VmState.BUILDING);
            String fault = pending && s.status().vmState() == VmState.ERROR && s.status().fault() != null ? s.status().fault().message() : null;
            // anti-affinity holds when HA restarts a member too (an affinity group cannot follow a whole host, so it does not bind)
            String group = res.groupOf(s.id()).map(Versioned::value)
                    .filter(g -> io.halcyon.model.compute.ServerGroup.ANTI_AFFINITY.equals(g.policy())).map(g -> g.id()).orElse(null);
            out.add(new GuestInput(s.id(), s.status().host(), s.status().epoch(), policy(s, settings), c.vcpus(), c.ramMb(), c.diskGb(),
                    wants, pending, group, fault));
        }
        return out;
    }

    static HaPolicy policy(Server s, HaSettings settings) {
        return HaPolicy.of(s.spec().metadata(), s.spec().flavor().extraSpecs(), settings.defaultPolicy());
    }

    /** What the server holds on its host, as the scheduler claims it. */
    static Claim claim(Server s) {
        var f = s.spec().flavor();
        int disk = s.spec().rootVolume() != null ? f.totalDiskGb() - f.diskGb() : f.totalDiskGb();
        return new Claim(f.vcpus(), f.ramMb(), disk);
    }
}
