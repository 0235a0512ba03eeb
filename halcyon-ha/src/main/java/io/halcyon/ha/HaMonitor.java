package io.halcyon.ha;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * The leader's HA brain, one per term. Each {@link #tick} takes what the store holds now and the
 * BMC outcomes since the last tick, and returns what to do; it remembers only what a leader can
 * know by itself: when it saw each host's last renewal (on its own monotonic clock, in
 * milliseconds) and the BMC attempts it made. A new leader therefore starts by watching every host
 * for a full lease period before it can call one down. Persisted host states are inputs, not
 * memory: the monitor never assumes its last actions were applied.
 */
public final class HaMonitor {
    private final HaSettings settings;
    private final long term;
    private final Map<String, Seen> seen = new HashMap<>();
    private final Map<String, Fence> fences = new HashMap<>();
    /** When this leader fenced each host, or first saw it fenced: the brakes count them for the window. */
    private final Map<String, Long> fencedAt = new HashMap<>();
    private boolean alarm;
    private long tokens;

    /** The last renewal this leader saw; until it sees one ({@code observed}), {@code at} is when it first looked. */
    private static final class Seen {
        long revision;
        long at;
        boolean observed;
        boolean armed;
        long lastBeat;
        long witnessBeat;
        long storageAt;
        boolean storageObserved;

        Seen(long revision, long at, boolean armed) {
            this.revision = revision;
            this.at = at;
            this.armed = armed;
            this.lastBeat = revision;
            this.storageAt = at;
        }
    }

    private static final class Fence {
        int attempts;
        long lastAttempt;
        String inFlight;
        String lastFailure;
        BmcOutcome confirmed;
    }

    /**
     * One tick's inputs: the time (leader's monotonic ms), the cluster switch, hosts, servers, BMC
     * outcomes, and whether the leader's own view of the storage heartbeats is live (some host's
     * changed lately): without it, a host that counts them can never be shown silent there.
     */
    public record Tick(long now, boolean clusterDisarmed, List<HostInput> hosts, List<GuestInput> guests, List<BmcOutcome> bmc,
                       boolean witnessLive) {
        public Tick {
            hosts = List.copyOf(hosts);
            guests = List.copyOf(guests);
            bmc = bmc == null ? List.of() : List.copyOf(bmc);
        }

        public Tick(long now, boolean clusterDisarmed, List<HostInput> hosts, List<GuestInput> guests, List<BmcOutcome> bmc) {
            this(now, clusterDisarmed, hosts, guests, bmc, false);
        }
    }

    /** @param term the leader's epoch, the prefix of every fencing token this monitor issues */
    public HaMonitor(HaSettings settings, long term) {
        this.settings = requireNonNull(settings, "settings is null").validated();
        this.term = term;
    }

    public boolean alarmRaised() {
        return alarm;
    }

    /** Milliseconds since this leader last saw the host renew (or since it first looked); -1 when never looked. */
    public long silence(String host, long now) {
        Seen s = seen.get(host);
        return s == null ? -1 : now - s.at;
    }

    public List<HaAction> tick(Tick t) {
        var out = new ArrayList<HaAction>();
        var hosts = new TreeMap<String, HostInput>();
        t.hosts().forEach(h -> hosts.put(h.name(), h));
        seen.keySet().retainAll(hosts.keySet());
        fences.keySet().retainAll(hosts.keySet());
        fencedAt.keySet().retainAll(hosts.keySet());
        for (HostInput h : hosts.values()) {
            if (h.state() == HostHaState.FENCED) {
                fencedAt.putIfAbsent(h.name(), t.now());
            }
        }
        for (HostInput h : hosts.values()) {
            Seen s = seen.get(h.name());
            if (s == null) {
                seen.put(h.name(), new Seen(h.heard(), t.now(), h.beatRevision() != 0 && h.armed()));
            } else {
                if (h.heard() != s.revision) {
                    s.revision = h.heard();
                    if (h.heard() != 0) {
                        s.at = t.now();
                        s.observed = true;
                        s.lastBeat = h.heard();
                    }
                }
                // the record changes only with a renewal, so it is as fresh as the renewals noted
                if (h.beatRevision() != 0) {
                    s.armed = h.armed();
                }
            }
            Seen w = seen.get(h.name());
            if (h.witnessBeat() != w.witnessBeat) {
                boolean first = w.witnessBeat == 0 && s == null;
                w.witnessBeat = h.witnessBeat();
                if (h.witnessBeat() != 0 && !first) {
                    w.storageAt = t.now();
                    w.storageObserved = true;
                }
            }
        }
        for (BmcOutcome o : t.bmc()) {
            Fence f = fences.get(o.host());
            if (f != null && o.token().equals(f.inFlight)) {
                f.inFlight = null;
                if (o.result() == BmcOutcome.Result.FAILED) {
                    f.lastFailure = o.detail();
                } else {
                    f.confirmed = o;
                }
            }
        }
        boolean braked = brake(t, hosts, out);
        var state = new TreeMap<String, HostHaState>();
        var recover = new ArrayList<GuestInput>();
        for (HostInput h : hosts.values()) {
            state.put(h.name(), step(t, h, braked, out, recover));
        }
        if (!t.clusterDisarmed()) {
            recover(t, hosts, state, recover, out);
        }
        return out;
    }

    private long ttl() {
        return settings.leaseTtl().toMillis();
    }

    /**
     * The brakes: failures over a window, not one tick. A host counts as failing from the moment it
     * is suspect (so hosts cut a few seconds apart, or whose renewals were out of phase, are seen
     * together before the first is fenced), and as failed for {@code brakeWindow} after it was
     * fenced, whatever it does since (so rolling failures and flapping hosts add up). When more than
     * {@code brakeShare} of the hosts, and at least two, are failing or failed, nobody more is
     * fenced: that is the management network or the control plane, not the hosts.
     */
    private boolean brake(Tick t, Map<String, HostInput> hosts, List<HaAction> out) {
        long window = settings.brakeWindow().toMillis();
        int live = 0;
        var failing = new ArrayList<String>();
        for (HostInput h : hosts.values()) {
            if (h.maintenance()) {
                continue;
            }
            Long at = fencedAt.get(h.name());
            boolean recentlyFenced = at != null && t.now() - at < window;
            if (h.state() == HostHaState.FENCED && !recentlyFenced) {
                // fenced longer ago than the window and not back: neither a failure now nor a host that could fail
                continue;
            }
            live++;
            if (recentlyFenced || t.now() - seen.get(h.name()).at >= settings.suspectAfter().toMillis()) {
                failing.add(h.name());
            }
        }
        boolean braked = failing.size() >= 2 && failing.size() > settings.brakeShare() * live;
        if (braked != alarm) {
            alarm = braked;
            out.add(new HaAction.Alarm(braked, braked
                    ? failing.size() + " of " + live + " hosts failing or fenced within " + secs(window) + " (" + String.join(", ", failing)
                    + "): fencing nobody more; suspect the management network or the control plane"
                    : "fewer hosts failing or fenced within " + secs(window) + " now (" + failing.size() + " of " + live + "): fencing resumes"));
        }
        return braked;
    }

    /**
     * Silence on both channels for a host whose agent counts its storage heartbeats, else on the
     * control plane alone. A leader that cannot see the storage heartbeats live cannot show such a
     * host silent there, so it counts it silent on the control plane only, and never as self-fenced
     * (see {@link #fence}).
     */
    private long silence(Tick t, HostInput h) {
        Seen s = seen.get(h.name());
        long ctl = t.now() - s.at;
        return h.witness() ? Math.min(ctl, t.now() - s.storageAt) : ctl;
    }

    private HostHaState step(Tick t, HostInput h, boolean braked, List<HaAction> out, List<GuestInput> recover) {
        HostHaState st = h.state();
        Seen seenHost = seen.get(h.name());
        long silence = t.now() - seenHost.at;
        boolean storageAlive = h.witness() && seenHost.storageObserved && t.now() - seenHost.storageAt < settings.suspectAfter().toMillis();
        // a leader that has not seen a renewal yet has no evidence of life, only a clock to count from
        boolean beating = seenHost.observed && silence < settings.suspectAfter().toMillis();
        if (h.maintenance()) {
            if (st != HostHaState.MAINTENANCE && st != HostHaState.FENCED) {
                fences.remove(h.name());
                return move(out, h, st, HostHaState.MAINTENANCE, "maintenance on: no new guests, never fenced");
            }
            if (st == HostHaState.FENCED && !dispose(t, h, out, recover) && rejoined(h)) {
                return move(out, h, st, HostHaState.MAINTENANCE, "renewing again after fencing; in maintenance");
            }
            return st;
        }
        switch (st) {
            case MAINTENANCE -> {
                return move(out, h, st, beating ? HostHaState.UP : HostHaState.SUSPECT,
                        "maintenance off" + (beating ? "" : "; no renewal for " + secs(silence)));
            }
            case FENCED -> {
                if (dispose(t, h, out, recover)) {
                    return st;
                }
                if (rejoined(h)) {
                    fences.remove(h.name());
                    return move(out, h, st, HostHaState.UP, "renewing again after fencing; rejoined empty");
                }
                return st;
            }
            default -> {
            }
        }
        if (!beating && storageAlive && !h.disarmed() && !t.clusterDisarmed()) {
            // cut from the control plane, alive on the storage: it keeps its guests and is never fenced
            if (st != HostHaState.ISOLATED) {
                fences.remove(h.name());
                return move(out, h, st, HostHaState.ISOLATED, "no renewal for " + secs(silence) + ", but its heartbeat on the shared "
                        + "storage is " + secs(t.now() - seenHost.storageAt) + " old: alive and cut from the control plane; its guests stay");
            }
            return st;
        }
        if (!beating && st == HostHaState.ISOLATED) {
            // its storage heartbeat stopped too: from now on it is a silent host like any other
            silence = silence(t, h);
            st = move(out, h, st, HostHaState.SUSPECT, "its heartbeat on the shared storage stopped too: no sign of life for "
                    + secs(silence));
        }
        if (h.witness()) {
            silence = silence(t, h);
        }
        if (beating) {
            if (st != HostHaState.UP) {
                fences.remove(h.name());
                return move(out, h, st, HostHaState.UP, "renewal seen " + secs(silence) + " ago"
                        + (st == HostHaState.SUSPECT ? "" : st == HostHaState.ISOLATED ? "; back on the control plane" : "; fencing called off"));
            }
            return st;
        }
        if (silence < settings.suspectAfter().toMillis()) {
            return st;
        }
        if (silence < ttl()) {
            return st == HostHaState.UP ? move(out, h, st, HostHaState.SUSPECT, "no renewal for " + secs(silence)) : st;
        }
        if (st == HostHaState.UP || st == HostHaState.SUSPECT) {
            String disarmed = t.clusterDisarmed() ? "; HA disarmed for the cluster: not fencing"
                    : h.disarmed() ? "; HA disarmed on this host: not fencing" : "";
            st = move(out, h, st, HostHaState.DOWN, "lease expired: no renewal for " + secs(silence) + " (ttl "
                    + secs(ttl()) + ")" + disarmed);
        }
        if (t.clusterDisarmed() || h.disarmed()) {
            if (st == HostHaState.FENCING || st == HostHaState.UNFENCEABLE) {
                fences.remove(h.name());
                return move(out, h, st, HostHaState.DOWN, "HA disarmed " + (h.disarmed() ? "on this host" : "for the cluster")
                        + ": fencing stopped");
            }
            return st;
        }
        if (braked) {
            return st;
        }
        return fence(t, h, st, silence, out, recover);
    }

    private boolean rejoined(HostInput h) {
        return h.beatRevision() != 0 && h.beatRevision() != h.fencedBeat();
    }

    private HostHaState fence(Tick t, HostInput h, HostHaState st, long silence, List<HaAction> out, List<GuestInput> recover) {
        Fence f = fences.computeIfAbsent(h.name(), k -> new Fence());
        String evidence = "no renewal for " + secs(silence) + " (last renewal seen: revision " + seen.get(h.name()).lastBeat + ")";
        if (f.confirmed != null) {
            String how = f.confirmed.result() == BmcOutcome.Result.OFF ? "BMC confirmed power off" : "BMC reports power already off";
            return fenced(t, h, st, how + " (token " + f.confirmed.token() + ": " + f.confirmed.detail() + "); " + evidence, out, recover);
        }
        // armed as of the last renewal this leader saw: the record itself goes with the lease
        boolean armed = seen.get(h.name()).armed;
        // an agent that counts its storage heartbeats may be alive on them: only a live view of them can show it silent
        boolean countable = !h.witness() || t.witnessLive();
        Optional<Duration> wait = h.watchdog() != null && armed && countable ? settings.selfFenceWait(h.watchdog()) : Optional.empty();
        if (wait.isPresent() && silence >= wait.get().toMillis()) {
            return fenced(t, h, st, "self-fence deadline passed: " + evidence + " >= ttl " + secs(ttl()) + " + max(self-fence "
                    + secs(settings.selfFenceTimeout().toMillis()) + ", watchdog " + secs(h.watchdog().toMillis()) + ") + margin "
                    + secs(settings.fenceMargin().toMillis()) + "; agent was armed", out, recover);
        }
        boolean retryDue = f.attempts == 0 || t.now() - f.lastAttempt >= retryDelay(f.attempts);
        if (h.bmc() && f.inFlight == null && retryDue) {
            f.attempts++;
            f.lastAttempt = t.now();
            f.inFlight = term + "." + (++tokens);
            out.add(new HaAction.PowerOff(h.name(), f.inFlight, "attempt " + f.attempts + "; " + evidence));
        }
        boolean bmcExhausted = !h.bmc() || (f.attempts >= settings.bmcAttempts() && f.inFlight == null);
        if (wait.isEmpty() && bmcExhausted) {
            String why = h.bmc() ? "BMC failed " + f.attempts + " time(s) (" + f.lastFailure + ")" : "no BMC";
            String wd = h.watchdog() == null ? "no watchdog" : !armed ? "watchdog not armed by the agent"
                    : !countable ? "its heartbeats on the shared storage cannot be read here" : "watchdog too slow for the fence margin";
            return st == HostHaState.UNFENCEABLE ? st
                    : move(out, h, st, HostHaState.UNFENCEABLE, why + " and " + wd + ": its guests stay until it returns");
        }
        if (st == HostHaState.DOWN || (st == HostHaState.UNFENCEABLE && wait.isPresent())) {
            var how = new ArrayList<String>();
            if (h.bmc()) {
                how.add("power off through the BMC");
            }
            wait.ifPresent(w -> how.add("self-fence deadline " + secs(w.toMillis()) + " after the last renewal"));
            return move(out, h, st, HostHaState.FENCING, String.join(", else ", how) + "; " + evidence);
        }
        return st;
    }

    /** The configured retry interval while attempts last, then doubling up to 30 s: an unfenceable host's BMC is still tried. */
    private long retryDelay(int attempts) {
        long base = settings.bmcRetryInterval().toMillis();
        int over = Math.max(0, attempts - settings.bmcAttempts());
        return Math.min(Math.max(base, 30_000), base << Math.min(over, 10));
    }

    private HostHaState fenced(Tick t, HostInput h, HostHaState st, String reason, List<HaAction> out, List<GuestInput> recover) {
        fences.remove(h.name());
        fencedAt.put(h.name(), t.now());
        out.add(new HaAction.Transition(h.name(), st, HostHaState.FENCED, reason, h.beatRevision()));
        dispose(t, h, out, recover);
        return HostHaState.FENCED;
    }

    /** Emits what to do with the guests of a fenced host that still want to run; false when none is left. */
    private static boolean dispose(Tick t, HostInput h, List<HaAction> out, List<GuestInput> recover) {
        var stop = new ArrayList<String>();
        var rec = new ArrayList<String>();
        for (GuestInput g : t.guests()) {
            if (!h.name().equals(g.host()) || !g.wantsRunning() || g.pending()) {
                continue;
            }
            if (g.policy().enabled()) {
                rec.add(g.id());
                recover.add(g);
            } else {
                stop.add(g.id());
            }
        }
        if (stop.isEmpty() && rec.isEmpty()) {
            return false;
        }
        out.add(new HaAction.Dispose(h.name(), stop, rec));
        return true;
    }

    private void recover(Tick t, Map<String, HostInput> hosts, Map<String, HostHaState> state, List<GuestInput> fresh,
                         List<HaAction> out) {
        var pending = new ArrayList<GuestInput>();
        var ids = new HashSet<String>();
        for (GuestInput g : fresh) {
            pending.add(g);
            ids.add(g.id());
        }
        for (GuestInput g : t.guests()) {
            if (g.pending() && ids.add(g.id())) {
                pending.add(g);
            }
        }
        if (pending.isEmpty()) {
            return;
        }
        // HA guests of hosts on their way to being fenced hold room by priority, so a second failure
        // a few seconds after the first is recovered by priority across both
        var expected = new ArrayList<GuestInput>();
        for (GuestInput g : t.guests()) {
            HostHaState st = g.host() == null ? null : state.get(g.host());
            boolean fenceable = g.host() != null && hosts.containsKey(g.host()) && !hosts.get(g.host()).disarmed();
            if ((st == HostHaState.SUSPECT || st == HostHaState.DOWN || st == HostHaState.FENCING) && fenceable && g.policy().enabled()
                    && g.wantsRunning() && !g.pending() && !ids.contains(g.id())) {
                expected.add(g);
            }
        }
        var rooms = new ArrayList<RecoveryPlanner.Room>();
        for (HostInput h : hosts.values()) {
            if (state.get(h.name()) == HostHaState.UP && h.schedulable() && !h.maintenance()) {
                rooms.add(new RecoveryPlanner.Room(h.name(), h.freeVcpus(), h.freeRamMb(), h.freeDiskGb()));
            }
        }
        var groups = new HashMap<String, Set<String>>();
        for (GuestInput g : t.guests()) {
            if (g.group() != null && g.host() != null && !ids.contains(g.id())) {
                groups.computeIfAbsent(g.host(), k -> new HashSet<>()).add(g.group());
            }
        }
        var faults = new HashMap<String, String>();
        pending.forEach(g -> faults.put(g.id(), g.fault()));
        for (HaAction a : RecoveryPlanner.plan(pending, expected, rooms, groups)) {
            if (a instanceof HaAction.Unplaceable u && u.reason().equals(faults.get(u.serverId()))) {
                continue;
            }
            out.add(a);
        }
    }

    private static HostHaState move(List<HaAction> out, HostInput h, HostHaState from, HostHaState to, String reason) {
        out.add(new HaAction.Transition(h.name(), from, to, reason, h.beatRevision()));
        return to;
    }

    static String secs(long millis) {
        return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }
}
