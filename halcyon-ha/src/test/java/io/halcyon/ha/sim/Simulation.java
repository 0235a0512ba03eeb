package io.halcyon.ha.sim;

import io.halcyon.ha.BmcOutcome;
import io.halcyon.ha.GuestInput;
import io.halcyon.ha.HaAction;
import io.halcyon.ha.HaMonitor;
import io.halcyon.ha.HaSettings;
import io.halcyon.ha.HostHaState;
import io.halcyon.ha.HostInput;
import io.halcyon.ha.RestartBudget;
import io.halcyon.ha.SelfFence;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A deterministic world for the HA monitor: virtual time in 100 ms ticks, hosts with power, an
 * agent (renewals, {@link SelfFence}, guest reconciliation, in-place restarts), a watchdog that
 * lives outside the host, a BMC, the management link, a heartbeat on the shared storage (hosts
 * with {@code witness}; "isolate" cuts the storage too); one store; one leader at a time running
 * the real {@link HaMonitor}; the guests' disks have storage leases (a QEMU holds its guest's until
 * it ends, and no other host starts the guest meanwhile) unless the scenario says "leases off";
 * a host's watchdog may fire later than it reports ({@code fires=}). Each tick runs the script, the agents, the watchdogs, then the
 * leader, and then checks the invariants. Everything that happens goes to the event log.
 */
final class Simulation {
    static final long TICK = 100;

    private final Scenario sc;
    private final HaSettings settings;
    private final List<String> log = new ArrayList<>();
    private final Map<String, SimHost> hosts = new TreeMap<>();
    private final Map<String, SimGuest> guests = new TreeMap<>();
    private final List<Scenario.Step> script;
    private final List<Due> bmcQueue = new ArrayList<>();
    private final Map<String, Long> lastEpoch = new TreeMap<>();
    /** guest@host pairs whose start waits for the disks' lease (each wait logged once). */
    private final Set<String> leaseWaits = new HashSet<>();
    private long now;
    private long revision;
    private boolean clusterDisarmed;
    private boolean controlPlaneUp = true;
    private boolean storageUp = true;
    private boolean leaderUp = true;
    private long term = 1;
    private HaMonitor monitor;
    private java.util.function.UnaryOperator<List<HaAction>> tamper = a -> a;
    /** Decisions on their way to the store (scenarios with a commit delay). */
    private final List<Pending> pending = new ArrayList<>();
    /** A leader stalled (a long GC pause): it does nothing until it resumes, deposed by then. */
    private HaMonitor stalled;
    private long stalledTerm;
    private HaMonitor deposed;
    private long deposedTerm;
    /** What the stalled leader last read: its cache, never refreshed while it was paused. */
    private List<HostInput> stalledHosts;
    private List<GuestInput> stalledGuests;
    private Map<String, Long> stalledHeard;
    private long deposedUntil;

    private record Due(long at, BmcOutcome outcome) {
    }

    private final class SimHost {
        final Scenario.HostSpec spec;
        boolean power = true;
        boolean agentAlive = true;
        boolean agentStopped;
        boolean frozen;
        boolean cut;
        boolean storageCut;
        long storageBeat;
        long storageBeatAt = -1;
        boolean beatWitness;
        boolean witnessCounted;
        boolean bmcBroken;
        boolean bmcUnpowered;
        Long lastPet;
        SelfFence fence;
        long nextRenew;
        final RestartBudget budget;
        final Map<String, Long> processes = new TreeMap<>();
        final Set<String> crashed = new HashSet<>();
        final List<InFlight> inFlight = new ArrayList<>();
        // the store's view
        HostHaState state = HostHaState.UP;
        long fencedBeat;
        long beat;
        long heard;
        boolean newLease;
        boolean beatArmed;
        boolean maintenance;
        boolean disarmed;
        boolean enabled;

        SimHost(Scenario.HostSpec spec) {
            this.spec = spec;
            this.bmcBroken = spec.bmc() == Scenario.Bmc.BROKEN;
            this.enabled = spec.enabled();
            this.budget = new RestartBudget(settings.restartLimit(), settings.restartWindow());
            boot();
            nextRenew = spec.phase();
        }

        void boot() {
            agentAlive = true;
            agentStopped = false;
            frozen = false;
            fence = new SelfFence(settings.selfFenceTimeout(), clock());
            nextRenew = clock();
            lastPet = null;
            newLease = true;
            witnessCounted = false;
            inFlight.clear();
        }

        boolean agentRuns() {
            return power && agentAlive && !agentStopped && !frozen;
        }

        /** The agent's monotonic clock, which may run at another rate than the leader's. */
        long clock() {
            return Math.round(now * spec.clockRate());
        }
    }

    private static final class SimGuest {
        final Scenario.GuestSpec spec;
        String host;
        long epoch = 1;
        boolean wantsRunning;
        boolean pending;
        boolean deleted;
        String fault;
        String vm;

        SimGuest(Scenario.GuestSpec spec) {
            this.spec = spec;
            this.host = spec.host();
            this.wantsRunning = spec.on();
            this.vm = spec.on() ? "ACTIVE" : "SHUTOFF";
        }
    }

    Simulation(Scenario sc) {
        this.sc = sc;
        this.settings = sc.settings();
        this.script = new ArrayList<>(sc.script());
        sc.hosts().forEach(h -> hosts.put(h.name(), new SimHost(h)));
        for (Scenario.GuestSpec g : sc.guests()) {
            if (!hosts.containsKey(g.host())) {
                throw new IllegalArgumentException(sc.name() + ": guest " + g.name() + " on unknown host " + g.host());
            }
            var sg = new SimGuest(g);
            guests.put(g.name(), sg);
            if (g.on()) {
                hosts.get(g.host()).processes.put(g.name(), 1L);
            }
            lastEpoch.put(g.name(), 1L);
        }
        monitor = new HaMonitor(settings, term);
    }

    /** For tests of the simulator itself: rewrites the leader's decisions before they are applied. */
    Simulation tamper(java.util.function.UnaryOperator<List<HaAction>> t) {
        this.tamper = t;
        return this;
    }

    List<String> run() {
        for (now = 0; now <= sc.runMillis(); now += TICK) {
            runScript();
            hosts.values().forEach(this::agentStep);
            hosts.values().forEach(this::watchdogStep);
            commitDue();
            deposedStep();
            if (leaderUp) {
                leaderStep();
            }
            checkInvariants();
        }
        summary();
        return log;
    }

    private void emit(String line) {
        log.add(String.format(Locale.ROOT, "t=%6.1f %s", now / 1000.0, line));
    }

    // ---- script -------------------------------------------------------------------------------

    private void runScript() {
        while (!script.isEmpty() && script.get(0).at() <= now) {
            Scenario.Step s = script.remove(0);
            emit("# " + s.verb() + (s.args().isEmpty() ? "" : " " + String.join(" ", s.args()))
                    + (s.forMillis() > 0 ? " for " + HaMonitorFormat.secs(s.forMillis()) : ""));
            apply(s);
            if (s.forMillis() > 0) {
                String undo = switch (s.verb()) {
                    case "stop-agent" -> "cont-agent";
                    case "freeze" -> "thaw";
                    case "cut", "isolate" -> "restore";
                    case "leader-down" -> "leader-up";
                    case "leader-stall" -> "leader-resume";
                    case "control-plane-down" -> "control-plane-up";
                    case "storage-down" -> "storage-up";
                    default -> throw new IllegalArgumentException(s.verb() + " cannot take 'for'");
                };
                insertStep(new Scenario.Step(s.at() + s.forMillis(), undo, s.args(), 0));
            }
        }
    }

    private void insertStep(Scenario.Step step) {
        int i = 0;
        while (i < script.size() && script.get(i).at() <= step.at()) {
            i++;
        }
        script.add(i, step);
    }

    /** A leader that died takes its unwritten decisions with it. */
    private void dropPending() {
        if (!pending.isEmpty()) {
            emit("leader term " + term + " died with " + pending.size() + " decision(s) not yet written");
            pending.clear();
        }
    }

    private static String describe(HaAction a) {
        if (a instanceof HaAction.Transition t) {
            return t.host() + " " + t.from().wire() + " -> " + t.to().wire();
        } else if (a instanceof HaAction.PowerOff p) {
            return "power-off " + p.host() + ", token " + p.token();
        } else if (a instanceof HaAction.Dispose d) {
            return "dispositions for " + d.host();
        } else if (a instanceof HaAction.Evacuate e) {
            return "evacuate " + e.serverId() + " " + e.from() + " -> " + e.to();
        } else if (a instanceof HaAction.Unplaceable u) {
            return "unplaceable " + u.serverId();
        }
        return a.getClass().getSimpleName();
    }

    private SimHost host(Scenario.Step s) {
        SimHost h = hosts.get(s.args().get(0));
        if (h == null) {
            throw new IllegalArgumentException(sc.name() + ": unknown host in " + s);
        }
        return h;
    }

    private void apply(Scenario.Step s) {
        switch (s.verb()) {
            case "power-off" -> powerOff(host(s), "power off");
            case "power-loss" -> {
                SimHost h = host(s);
                h.bmcUnpowered = true;
                powerOff(h, "power lost, BMC included");
            }
            case "power-on" -> {
                SimHost h = host(s);
                h.power = true;
                h.bmcUnpowered = false;
                h.boot();
            }
            case "kill-agent" -> host(s).agentAlive = false;
            case "stop-agent-cleanly" -> {
                // its last renewal says it no longer self-fences; then it disarms the watchdog and exits
                SimHost h = host(s);
                if (h.agentRuns() && !h.cut && controlPlaneUp) {
                    revision++;
                    h.beat = revision;
                    h.heard = revision;
                    h.beatArmed = false;
                    h.lastPet = null;
                }
                h.agentAlive = false;
            }
            case "start-agent" -> host(s).boot();
            case "stop-agent" -> host(s).agentStopped = true;
            case "cont-agent" -> host(s).agentStopped = false;
            case "freeze" -> host(s).frozen = true;
            case "thaw" -> host(s).frozen = false;
            case "cut" -> host(s).cut = true;
            case "restore" -> {
                host(s).cut = false;
                host(s).storageCut = false;
            }
            case "isolate" -> {
                host(s).cut = true;
                host(s).storageCut = true;
            }
            case "bmc" -> host(s).bmcBroken = s.args().get(1).equals("broken");
            case "maintenance" -> host(s).maintenance = s.args().get(1).equals("on");
            case "enable" -> host(s).enabled = true;
            case "disable" -> host(s).enabled = false;
            case "disarm", "arm" -> {
                boolean off = s.verb().equals("disarm");
                if (s.args().get(0).equals("cluster")) {
                    clusterDisarmed = off;
                } else {
                    host(s).disarmed = off;
                }
            }
            case "leader-change" -> newLeader();
            case "leader-down" -> {
                leaderUp = false;
                dropPending();
            }
            case "leader-stall" -> {
                if (s.forMillis() <= settings.leaseTtl().toMillis()) {
                    throw new IllegalArgumentException(sc.name() + ": leader-stall needs 'for' longer than the lease TTL");
                }
                stalled = monitor;
                stalledTerm = term;
                stalledHosts = hostInputs();
                stalledGuests = guestInputs();
                stalledHeard = heardNow();
                leaderUp = false;
                // another controller takes the lease once it has expired
                insertStep(new Scenario.Step(now + settings.leaseTtl().toMillis(), "leader-up", List.of(), 0));
            }
            case "leader-resume" -> {
                deposed = stalled;
                deposedTerm = stalledTerm;
                deposedUntil = now + 1000;
                stalled = null;
                emit("leader term " + deposedTerm + " resumes, not knowing it was deposed");
            }
            case "leader-up" -> newLeader();
            case "control-plane-down" -> {
                leaderUp = false;
                controlPlaneUp = false;
                dropPending();
            }
            case "storage-down" -> storageUp = false;
            case "storage-up" -> storageUp = true;
            case "control-plane-up" -> {
                controlPlaneUp = true;
                newLeader();
            }
            case "crash", "guest-watchdog" -> {
                SimGuest g = guest(s.args().get(0));
                for (SimHost h : hosts.values()) {
                    if (h.processes.remove(g.spec.name()) != null) {
                        h.crashed.add(g.spec.name());
                    }
                }
            }
            case "delete" -> {
                SimGuest g = guest(s.args().get(0));
                g.deleted = true;
                g.pending = false;
                revision++;
            }
            default -> throw new IllegalArgumentException(sc.name() + ": unknown event " + s.verb());
        }
    }

    private SimGuest guest(String name) {
        SimGuest g = guests.get(name);
        if (g == null) {
            throw new IllegalArgumentException(sc.name() + ": unknown guest " + name);
        }
        return g;
    }

    private void newLeader() {
        leaderUp = true;
        term++;
        monitor = new HaMonitor(settings, term);
        emit("leader: term " + term + " starts watching");
    }

    private void powerOff(SimHost h, String why) {
        if (!h.power) {
            return;
        }
        h.power = false;
        h.agentAlive = false;
        h.lastPet = null;
        if (!h.processes.isEmpty()) {
            emit(h.spec.name() + " " + why + ": " + String.join(", ", h.processes.keySet()) + " gone");
        }
        h.processes.clear();
        h.crashed.clear();
    }

    // ---- agents and watchdogs ---------------------------------------------------------------

    /** A renewal on its way: to the store at {@code storeAt}, its answer back to the agent at {@code answerAt}. */
    private static final class InFlight {
        final long sentAt;
        final boolean sent;
        final long storeAt;
        long answerAt = -1;
        long revision;
        boolean wantArmed;

        InFlight(long sentAt, boolean sent, long storeAt) {
            this.sentAt = sentAt;
            this.sent = sent;
            this.storeAt = storeAt;
        }
    }

    /** The controllers take a renewal: its revision, the renewal record written on a transition only. */
    private long storeRenewal(SimHost h, boolean sent) {
        revision++;
        boolean afterFence = h.fence.fired() && !h.fence.cleared();
        boolean witness = h.spec.witness();
        if (h.newLease || h.beat == 0 || sent != h.beatArmed || afterFence || witness != h.beatWitness || h.state != HostHaState.UP) {
            h.beat = revision;
            h.beatArmed = sent;
            h.beatWitness = witness;
            h.newLease = false;
        }
        h.heard = revision;
        return revision;
    }

    private boolean connected(SimHost h) {
        return !h.cut && controlPlaneUp;
    }

    /** Renewals in flight (hosts with a message delay): stored on arrival, answered after the way back, lost on a cut. */
    private void deliver(SimHost h) {
        for (var it = h.inFlight.iterator(); it.hasNext(); ) {
            InFlight f = it.next();
            if (f.answerAt < 0 && now >= f.storeAt) {
                if (!connected(h)) {
                    it.remove();
                    continue;
                }
                f.revision = storeRenewal(h, f.sent);
                f.wantArmed = !(clusterDisarmed || h.disarmed);
                f.answerAt = now + h.spec.delayMillis();
            }
            if (f.answerAt >= 0 && now >= f.answerAt) {
                it.remove();
                if (connected(h) && h.agentRuns()) {
                    h.fence.renewed(f.sentAt, f.sent, f.wantArmed, f.revision);
                    h.witnessCounted = h.spec.witness();
                }
            }
        }
    }

    private void agentStep(SimHost h) {
        deliver(h);
        if (!h.agentRuns()) {
            return;
        }
        boolean connected = connected(h);
        if (h.clock() >= h.nextRenew || h.fence.silenceMillis(h.clock()) >= settings.selfFenceTimeout().toMillis()) {
            h.nextRenew = h.clock() + settings.renewInterval().toMillis();
            if (h.spec.delayMillis() > 0) {
                if (connected) {
                    h.inFlight.add(new InFlight(h.clock(), h.fence.toSend(), now + h.spec.delayMillis()));
                }
            } else if (connected) {
                boolean sent = h.fence.toSend();
                long rev = storeRenewal(h, sent);
                h.fence.renewed(h.clock(), sent, !(clusterDisarmed || h.disarmed), rev);
                // the record now says it counts its storage heartbeats
                h.witnessCounted = h.spec.witness();
            }
            if (h.spec.witness() && !h.storageCut && storageUp) {
                h.storageBeat++;
                h.storageBeatAt = now;
                if (h.witnessCounted) {
                    h.fence.storageRenewed(h.clock());
                }
            }
        }
        if (h.fence.fire(h.clock())) {
            var killed = new ArrayList<String>();
            for (String id : List.copyOf(h.processes.keySet())) {
                if (guests.get(id).spec.policy().enabled()) {
                    h.processes.remove(id);
                    killed.add(id);
                }
            }
            // the killed guests count as died: restarted in place, if at all, within the restart budget
            h.crashed.addAll(killed);
            emit(h.spec.name() + " self-fence: no renewal for " + HaMonitorFormat.secs(h.fence.silenceMillis(h.clock())) + ", killed "
                    + (killed.isEmpty() ? "nothing" : String.join(", ", killed)) + ", watchdog petting stops");
        }
        if (h.spec.watchdog() != null && h.fence.mayPet(h.clock())) {
            h.lastPet = now;
        }
        if (connected) {
            reconcile(h);
        }
    }

    private void reconcile(SimHost h) {
        String name = h.spec.name();
        for (var e : List.copyOf(h.processes.entrySet())) {
            SimGuest g = guests.get(e.getKey());
            String why = g.deleted ? "deleted" : !name.equals(g.host) ? "placed on " + g.host + " at epoch " + g.epoch
                    : g.epoch != e.getValue() ? "epoch " + e.getValue() + " is stale (now " + g.epoch + ")" : !g.wantsRunning ? "stopped" : null;
            if (why != null) {
                h.processes.remove(e.getKey());
                emit(e.getKey() + " killed on " + name + ": " + why);
            }
        }
        for (String id : List.copyOf(h.crashed)) {
            h.crashed.remove(id);
            SimGuest g = guests.get(id);
            if (g.deleted || !name.equals(g.host) || !g.wantsRunning) {
                continue;
            }
            if (g.spec.policy().enabled() && h.budget.take(id, now)) {
                emit(id + " died on " + name + ": HA, restarting in place");
            } else {
                g.wantsRunning = false;
                g.vm = g.spec.policy().enabled() ? "ERROR" : "SHUTOFF";
                g.fault = g.spec.policy().enabled() ? "restart limit reached" : null;
                revision++;
                emit(id + " died on " + name + ": " + (g.spec.policy().enabled() ? "restart limit reached, ERROR" : "not HA, SHUTOFF"));
            }
        }
        for (SimGuest g : guests.values()) {
            String id = g.spec.name();
            if (g.deleted || !name.equals(g.host) || !g.wantsRunning || h.processes.containsKey(id)) {
                continue;
            }
            if (g.spec.policy().enabled() && !h.fence.mayStartHaGuests(revision)) {
                continue;
            }
            String holder = sc.leases() ? leaseHolder(id, h) : null;
            if (holder != null) {
                if (leaseWaits.add(id + "@" + name)) {
                    emit(id + " waits on " + name + ": its disks' lease is held by its QEMU on " + holder);
                }
                continue;
            }
            leaseWaits.remove(id + "@" + name);
            h.processes.put(id, g.epoch);
            if (!"ACTIVE".equals(g.vm)) {
                g.vm = "ACTIVE";
                revision++;
            }
            emit(id + " running on " + name + " (epoch " + g.epoch + ")");
        }
    }

    /** Another powered host whose QEMU of the guest still holds its disks' lease; null when none does. */
    private String leaseHolder(String guest, SimHost starting) {
        for (SimHost o : hosts.values()) {
            if (o != starting && o.power && o.processes.containsKey(guest)) {
                return o.spec.name();
            }
        }
        return null;
    }

    private void watchdogStep(SimHost h) {
        if (h.power && h.spec.watchdog() != null && h.lastPet != null && now - h.lastPet >= h.spec.firesAfter().toMillis()) {
            emit(h.spec.name() + " watchdog fired " + HaMonitorFormat.secs(now - h.lastPet) + " after the last pet: host reset");
            powerOff(h, "reset");
        }
    }

    // ---- the leader ------------------------------------------------------------------------

    /** A leader's decision on its way to the store: applied at {@code due}, checked then as the store would. */
    private record Pending(long due, HaAction action, long term, Map<String, Long> heard) {
    }

    private void commitDue() {
        while (!pending.isEmpty() && pending.get(0).due() <= now) {
            Pending p = pending.remove(0);
            applyAction(p.action(), p.term(), p.heard());
        }
    }

    /** The deposed leader, back from its pause, still deciding on what it last knew until it notices. */
    private void deposedStep() {
        if (deposed == null) {
            return;
        }
        if (now >= deposedUntil) {
            emit("leader term " + deposedTerm + ": its lease is gone, it stops");
            deposed = null;
            return;
        }
        var actions = deposed.tick(new HaMonitor.Tick(now, clusterDisarmed, stalledHosts, stalledGuests, List.of(), true));
        for (HaAction a : actions) {
            applyAction(a, deposedTerm, stalledHeard);
        }
        if (!actions.isEmpty()) {
            // a refused write tells it the lease is gone
            emit("leader term " + deposedTerm + ": its writes were refused, it stops");
            deposed = null;
        }
    }

    private Map<String, Long> heardNow() {
        var m = new TreeMap<String, Long>();
        hosts.forEach((n, h) -> m.put(n, h.heard));
        return m;
    }

    private void leaderStep() {
        if (!pending.isEmpty()) {
            // the tick waits for its writes: the next decision is made once they have landed or failed
            return;
        }
        var outcomes = new ArrayList<BmcOutcome>();
        bmcQueue.removeIf(d -> {
            if (d.at() <= now) {
                outcomes.add(d.outcome());
                emit("bmc " + d.outcome().host() + ": " + d.outcome().result().name().toLowerCase(Locale.ROOT) + " (" + d.outcome().detail()
                        + ", token " + d.outcome().token() + ")");
                return true;
            }
            return false;
        });
        // the leader's view of the storage heartbeats is live when some host's changed lately
        boolean witnessLive = hosts.values().stream().anyMatch(h -> h.storageBeatAt >= 0 && now - h.storageBeatAt < 3 * settings.renewInterval().toMillis());
        var actions = monitor.tick(new HaMonitor.Tick(now, clusterDisarmed, hostInputs(), guestInputs(), outcomes, witnessLive));
        var heard = heardNow();
        int i = 0;
        for (HaAction a : tamper.apply(actions)) {
            if (sc.commitMillis() == 0) {
                applyAction(a, term, heard);
            } else {
                // one after another, the first after the commit delay
                pending.add(new Pending(now + sc.commitMillis() + TICK * i++, a, term, heard));
            }
        }
    }

    private List<HostInput> hostInputs() {
        var hostInputs = new ArrayList<HostInput>();
        for (SimHost h : hosts.values()) {
            int[] used = new int[3];
            for (SimGuest g : guests.values()) {
                if (!g.deleted && h.spec.name().equals(g.host)) {
                    used[0] += g.spec.vcpus();
                    used[1] += g.spec.ramMb();
                    used[2] += g.spec.diskGb();
                }
            }
            hostInputs.add(new HostInput(h.spec.name(), h.beat, h.heard, h.beatArmed, h.beatWitness, h.storageBeat, h.spec.bmc() != Scenario.Bmc.NONE, h.spec.watchdog(),
                    h.maintenance, h.disarmed, h.state, h.fencedBeat, h.enabled, h.spec.cpus() - used[0], h.spec.ramMb() - used[1],
                    h.spec.diskGb() - used[2]));
        }
        return hostInputs;
    }

    private List<GuestInput> guestInputs() {
        var guestInputs = new ArrayList<GuestInput>();
        for (SimGuest g : guests.values()) {
            if (!g.deleted) {
                guestInputs.add(new GuestInput(g.spec.name(), g.host, g.epoch, g.spec.policy(), g.spec.vcpus(), g.spec.ramMb(),
                        g.spec.diskGb(), g.wantsRunning, g.pending, g.spec.group(), g.fault));
            }
        }
        return guestInputs;
    }

    /**
     * Applies a decision as the store and the controller would: only for the leader of the
     * current term (a fencing token; a BMC is asked only after such a write), a fence only while
     * the host's renewals are the ones the decision saw, a transition only from the state it
     * started from.
     */
    private void applyAction(HaAction a, long decidedInTerm, Map<String, Long> heardAtDecision) {
        if (decidedInTerm != term) {
            emit("term " + decidedInTerm + " refused (" + describe(a) + "): not the leader's term (" + (leaderUp ? term : "none") + ")");
            return;
        }
        if (a instanceof HaAction.Transition t) {
                SimHost h = hosts.get(t.host());
                if (h.state != t.from()) {
                    if (h.state != t.to()) {
                        emit(t.host() + " " + t.from().wire() + " -> " + t.to().wire() + " refused: the host is " + h.state.wire() + " now");
                    }
                    return;
                }
                if (t.to() == HostHaState.FENCED && (h.beat != t.beatRevision() || h.heard != heardAtDecision.get(t.host()))) {
                    emit(t.host() + " fence refused: a renewal landed after the decision");
                    return;
                }
                h.state = t.to();
                revision++;
                emit(t.host() + " " + t.from().wire() + " -> " + t.to().wire() + ": " + t.reason());
                if (t.to() == HostHaState.FENCED) {
                    h.fencedBeat = t.beatRevision();
                }
        } else if (a instanceof HaAction.Dispose d) {
                if (hosts.get(d.host()).state != HostHaState.FENCED) {
                    emit(d.host() + " dispositions refused: the host is not fenced");
                    return;
                }
                for (String id : d.stop()) {
                    SimGuest g = guests.get(id);
                    g.wantsRunning = false;
                    g.vm = "SHUTOFF";
                    emit(id + " SHUTOFF: not HA and its host " + d.host() + " was fenced");
                }
                for (String id : d.recover()) {
                    SimGuest g = guests.get(id);
                    g.wantsRunning = false;
                    g.pending = true;
                    emit(id + " waits for recovery (priority " + g.spec.policy().priority() + ")");
                }
        } else if (a instanceof HaAction.PowerOff p) {
                SimHost h = hosts.get(p.host());
                if (h.heard != heardAtDecision.get(p.host())) {
                    emit(p.host() + " power-off called off: a renewal landed after the decision (token " + p.token() + ")");
                    return;
                }
                emit(p.host() + " power-off through the BMC, token " + p.token() + " (" + p.evidence() + ")");
                BmcOutcome o;
                if (h.spec.bmc() == Scenario.Bmc.LIES && !h.bmcBroken && !h.bmcUnpowered) {
                    o = new BmcOutcome(p.host(), p.token(), BmcOutcome.Result.OFF, "Chassis Power is off (a lie: it is on)");
                } else if (h.bmcBroken || h.bmcUnpowered) {
                    o = new BmcOutcome(p.host(), p.token(), BmcOutcome.Result.FAILED, "no answer from the BMC");
                } else if (!h.power) {
                    o = new BmcOutcome(p.host(), p.token(), BmcOutcome.Result.ALREADY_OFF, "Chassis Power is off");
                } else {
                    powerOff(h, "powered off by its BMC");
                    o = new BmcOutcome(p.host(), p.token(), BmcOutcome.Result.OFF, "Chassis Power is off");
                }
                bmcQueue.add(new Due(now + 300, o));
        } else if (a instanceof HaAction.Evacuate e) {
                SimGuest g = guests.get(e.serverId());
                if (!g.pending || g.epoch != e.epoch()) {
                    emit(e.serverId() + " evacuation refused: no longer waiting at epoch " + e.epoch());
                    return;
                }
                if (hosts.get(e.from()).state != HostHaState.FENCED && hosts.get(e.from()).state != HostHaState.UP
                        && hosts.get(e.from()).state != HostHaState.MAINTENANCE) {
                    throw failure("evacuating " + e.serverId() + " from " + e.from() + " in state " + hosts.get(e.from()).state);
                }
                g.host = e.to();
                g.epoch++;
                g.pending = false;
                g.wantsRunning = true;
                g.fault = null;
                g.vm = "REBUILD";
                revision++;
                emit(e.serverId() + " evacuated " + e.from() + " -> " + e.to() + " at epoch " + g.epoch + " (priority " + e.priority() + ")");
        } else if (a instanceof HaAction.Unplaceable u) {
                SimGuest g = guests.get(u.serverId());
                g.fault = u.reason();
                g.vm = "ERROR";
                revision++;
                emit(u.serverId() + " ERROR: " + u.reason());
        } else if (a instanceof HaAction.Alarm al) {
            emit("alarm " + (al.raised() ? "raised" : "cleared") + ": " + al.reason());
        }
    }

    // ---- invariants --------------------------------------------------------------------------

    private void checkInvariants() {
        for (SimGuest g : guests.values()) {
            var where = new ArrayList<String>();
            for (SimHost h : hosts.values()) {
                if (h.power && h.processes.containsKey(g.spec.name())) {
                    where.add(h.spec.name());
                }
            }
            if (where.size() > 1) {
                throw failure(g.spec.name() + " runs on " + where + " at once");
            }
            long last = lastEpoch.get(g.spec.name());
            if (g.epoch < last) {
                throw failure(g.spec.name() + " epoch went back from " + last + " to " + g.epoch);
            }
            lastEpoch.put(g.spec.name(), g.epoch);
        }
    }

    private AssertionError failure(String what) {
        return new AssertionError(sc.name() + " at t=" + now / 1000.0 + " s: invariant broken: " + what + "\n" + String.join("\n", log));
    }

    private void summary() {
        now -= TICK;
        for (SimHost h : hosts.values()) {
            emit("end host " + h.spec.name() + ": " + h.state.wire() + (h.power ? ", powered" : ", off") + ", running "
                    + (h.processes.isEmpty() ? "nothing" : String.join(" ", h.processes.keySet())));
        }
        for (SimGuest g : guests.values()) {
            emit("end guest " + g.spec.name() + ": " + (g.deleted ? "DELETED" : g.vm) + " on " + g.host + " epoch " + g.epoch
                    + (g.pending ? ", waiting for recovery" : "") + (g.fault != null ? ", fault: " + g.fault : ""));
        }
    }

    /** Seconds as the monitor prints them. */
    static final class HaMonitorFormat {
        static String secs(long millis) {
            return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
        }
    }
}
