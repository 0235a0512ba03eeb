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
    private boolean alarm;
    private long tokens;

    /** The last renewal this leader saw; until it sees one ({@code observed}), {@code at} is when it first looked. */
    private static final class Seen {
        long revision;
        long at;
        boolean observed;
        boolean armed;
        long lastBeat;

        Seen(long revision, long at, boolean armed) {
            this.revision = revision;
            this.at = at;
            this.armed = armed;
            this.lastBeat = revision;
        }
    }

    private static final class Fence {
        int attempts;
        long lastAttempt;
        String inFlight;
        String lastFailure;
        BmcOutcome confirmed;
    }

    /** One tick's inputs: the time (leader's monotonic ms), the cluster switch, hosts, servers, BMC outcomes. */
    public record Tick(long now, boolean clusterDisarmed, List<HostInput> hosts, List<GuestInput> guests, List<BmcOutcome> bmc) {
        public Tick {
            hosts = List.copyOf(hosts);
            guests = List.copyOf(guests);
            bmc = bmc == null ? List.of() : List.copyOf(bmc);
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
        for (HostInput h : hosts.values()) {
            Seen s = seen.get(h.name());
            if (s == null) {
                seen.put(h.name(), new Seen(h.beatRevision(), t.now(), h.beatRevision() != 0 && h.armed()));
            } else if (h.beatRevision() != s.revision) {
                s.revision = h.beatRevision();
                if (h.beatRevision() != 0) {
                    s.at = t.now();
                    s.observed = true;
                    s.armed = h.armed();
                    s.lastBeat = h.beatRevision();
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

    private boolean brake(Tick t, Map<String, HostInput> hosts, List<HaAction> out) {
        int live = 0;
        var down = new ArrayList<String>();
        for (HostInput h : hosts.values()) {
            if (h.maintenance() || h.state() == HostHaState.FENCED) {
                continue;
            }
            live++;
            if (t.now() - seen.get(h.name()).at >= ttl()) {
                down.add(h.name());
            }
        }
        boolean braked = down.size() >= 2 && down.size() > settings.brakeShare() * live;
        if (braked != alarm) {
            alarm = braked;
            out.add(new HaAction.Alarm(braked, braked
                    ? down.size() + " of " + live + " hosts look down at once (" + String.join(", ", down)
                    + "): fencing nobody; suspect the management network or the control plane"
                    : "fewer hosts look down now (" + down.size() + " of " + live + "): fencing resumes"));
        }
        return braked;
    }

    private HostHaState step(Tick t, HostInput h, boolean braked, List<HaAction> out, List<GuestInput> recover) {
        HostHaState st = h.state();
        Seen seenHost = seen.get(h.name());
        long silence = t.now() - seenHost.at;
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
        if (beating) {
            if (st != HostHaState.UP) {
                fences.remove(h.name());
                return move(out, h, st, HostHaState.UP, "renewal seen " + secs(silence) + " ago"
                        + (st == HostHaState.SUSPECT ? "" : "; fencing called off"));
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
        String evidence = "no renewal for " + secs(silence) + " (last renewal seen: record revision " + seen.get(h.name()).lastBeat + ")";
        if (f.confirmed != null) {
            String how = f.confirmed.result() == BmcOutcome.Result.OFF ? "BMC confirmed power off" : "BMC reports power already off";
            return fenced(t, h, st, how + " (token " + f.confirmed.token() + ": " + f.confirmed.detail() + "); " + evidence, out, recover);
        }
        // armed as of the last renewal this leader saw: the record itself goes with the lease
        boolean armed = seen.get(h.name()).armed;
        Optional<Duration> wait = h.watchdog() != null && armed ? settings.selfFenceWait(h.watchdog()) : Optional.empty();
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
                    : "watchdog too slow for the fence margin";
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
