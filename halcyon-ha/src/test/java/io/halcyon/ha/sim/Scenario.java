package io.halcyon.ha.sim;

import io.halcyon.ha.HaPolicy;
import io.halcyon.ha.HaSettings;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A simulator scenario, parsed from its file: settings, hosts, guests, how long to run, and a
 * script of faults and operator actions at given times. One directive per line; '#' comments.
 */
record Scenario(String name, HaSettings settings, List<HostSpec> hosts, List<GuestSpec> guests, long runMillis, List<Step> script,
                boolean leases, long commitMillis) {
    /** LIES: answers that the power is off and leaves it on. */
    enum Bmc { NONE, OK, BROKEN, LIES }

    /**
     * @param phase when in the first renewal interval this host's agent renews (agents are not in lockstep)
     * @param fires when the watchdog really fires ({@code watchdog} is what it reports); null: as reported
     * @param delayMillis one-way delay of messages between the host's agent and the controllers
     * @param clockRate how fast the agent's clock runs against the leader's (1.01: 1 % fast)
     */
    record HostSpec(String name, int cpus, int ramMb, int diskGb, Bmc bmc, Duration watchdog, boolean enabled, long phase, boolean witness,
                    Duration fires, long delayMillis, double clockRate) {
        Duration firesAfter() {
            return fires != null ? fires : watchdog;
        }
    }

    record GuestSpec(String name, String host, HaPolicy policy, int vcpus, int ramMb, int diskGb, String group, boolean on) {
    }

    /** At {@code at} ms, {@code verb} with {@code args}; {@code forMillis} > 0 undoes it after that long. */
    record Step(long at, String verb, List<String> args, long forMillis) {
    }

    static Scenario parse(String name, String text) {
        HaSettings settings = HaSettings.defaults();
        var hosts = new ArrayList<HostSpec>();
        var guests = new ArrayList<GuestSpec>();
        var script = new ArrayList<Step>();
        long run = 60_000;
        boolean leases = true;
        long commit = 0;
        int n = 0;
        for (String raw : text.split("\n")) {
            n++;
            String line = raw.replaceAll("#.*", "").trim();
            if (line.isEmpty()) {
                continue;
            }
            var words = List.of(line.split("\\s+"));
            try {
                switch (words.get(0)) {
                    case "settings" -> settings = settings(settings, options(words.subList(1, words.size())));
                    case "host" -> hosts.add(host(words));
                    case "guest" -> guests.add(guest(words, settings.defaultPolicy()));
                    case "run" -> run = millis(words.get(1));
                    // the disks' storage leases (on by default, as in the cloud); "leases off" shows what they prevent
                    case "leases" -> leases = !words.get(1).equals("off");
                    // how long a leader's decisions take to reach the store, applied one by one (0: at once)
                    case "commit" -> commit = millis(words.get(1));
                    case "at" -> script.add(step(words));
                    default -> throw new IllegalArgumentException("unknown directive " + words.get(0));
                }
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(name + ":" + n + ": " + e.getMessage() + " in '" + raw.trim() + "'", e);
            }
        }
        script.sort((a, b) -> Long.compare(a.at(), b.at()));
        return new Scenario(name, settings.validated(), hosts, guests, run, script, leases, commit);
    }

    private static Map<String, String> options(List<String> words) {
        var m = new LinkedHashMap<String, String>();
        for (String w : words) {
            int eq = w.indexOf('=');
            m.put(eq < 0 ? w : w.substring(0, eq), eq < 0 ? "" : w.substring(eq + 1));
        }
        return m;
    }

    private static HaSettings settings(HaSettings d, Map<String, String> o) {
        var known = List.of("renew", "ttl", "suspect", "selffence", "margin", "brake", "brakewindow", "bmcretry", "bmcattempts", "restarts", "window",
                "default-ha", "default-priority");
        for (String k : o.keySet()) {
            if (!known.contains(k)) {
                throw new IllegalArgumentException("unknown setting " + k);
            }
        }
        return new HaSettings(dur(o, "renew", d.renewInterval()), dur(o, "ttl", d.leaseTtl()), dur(o, "suspect", d.suspectAfter()),
                dur(o, "selffence", d.selfFenceTimeout()), dur(o, "margin", d.fenceMargin()),
                o.containsKey("brake") ? Double.parseDouble(o.get("brake")) : d.brakeShare(), dur(o, "brakewindow", d.brakeWindow()),
                dur(o, "bmcretry", d.bmcRetryInterval()),
                o.containsKey("bmcattempts") ? Integer.parseInt(o.get("bmcattempts")) : d.bmcAttempts(),
                o.containsKey("restarts") ? Integer.parseInt(o.get("restarts")) : d.restartLimit(), dur(o, "window", d.restartWindow()),
                new HaPolicy(o.containsKey("default-ha") ? Boolean.parseBoolean(o.get("default-ha")) : d.defaultPolicy().enabled(),
                        o.containsKey("default-priority") ? Integer.parseInt(o.get("default-priority")) : d.defaultPolicy().priority()));
    }

    private static Duration dur(Map<String, String> o, String key, Duration dflt) {
        return o.containsKey(key) ? Duration.ofMillis(millis(o.get(key))) : dflt;
    }

    private static HostSpec host(List<String> w) {
        var o = options(w.subList(2, w.size()));
        Bmc bmc = !o.containsKey("bmc") ? Bmc.NONE : o.get("bmc").equals("broken") ? Bmc.BROKEN : o.get("bmc").equals("lies") ? Bmc.LIES : Bmc.OK;
        String wd = o.getOrDefault("watchdog", "none");
        return new HostSpec(w.get(1), Integer.parseInt(o.getOrDefault("cpus", "8")), Integer.parseInt(o.getOrDefault("ram", "8192")),
                Integer.parseInt(o.getOrDefault("disk", "200")), bmc, wd.equals("none") ? null : Duration.ofMillis(millis(wd)),
                !o.containsKey("disabled"), o.containsKey("phase") ? millis(o.get("phase")) : 0, o.containsKey("witness"),
                o.containsKey("fires") ? Duration.ofMillis(millis(o.get("fires"))) : null,
                o.containsKey("delay") ? millis(o.get("delay")) : 0, o.containsKey("clock") ? Double.parseDouble(o.get("clock")) : 1.0);
    }

    private static GuestSpec guest(List<String> w, HaPolicy dflt) {
        var o = options(w.subList(2, w.size()));
        var meta = new LinkedHashMap<String, String>();
        if (o.containsKey("ha")) {
            meta.put(HaPolicy.METADATA_ENABLED, o.get("ha").isEmpty() ? "True" : o.get("ha"));
        }
        if (o.containsKey("priority")) {
            meta.put(HaPolicy.SPEC_PRIORITY, o.get("priority"));
        }
        var flavor = new LinkedHashMap<String, String>();
        if (o.containsKey("flavor-ha")) {
            flavor.put(HaPolicy.SPEC_ENABLED, o.get("flavor-ha"));
        }
        if (HaPolicy.problem(meta) != null) {
            throw new IllegalArgumentException(HaPolicy.problem(meta));
        }
        if (!o.containsKey("on")) {
            throw new IllegalArgumentException("guest needs on=HOST");
        }
        return new GuestSpec(w.get(1), o.get("on"), HaPolicy.of(meta, flavor, dflt), Integer.parseInt(o.getOrDefault("vcpus", "1")),
                Integer.parseInt(o.getOrDefault("ram", "1024")), Integer.parseInt(o.getOrDefault("disk", "10")), o.get("group"),
                !o.containsKey("off"));
    }

    private static Step step(List<String> w) {
        long at = millis(w.get(1));
        var rest = new ArrayList<>(w.subList(2, w.size()));
        long forMillis = 0;
        int f = rest.indexOf("for");
        if (f >= 0) {
            forMillis = millis(rest.get(f + 1));
            rest = new ArrayList<>(rest.subList(0, f));
        }
        return new Step(at, rest.get(0), List.copyOf(rest.subList(1, rest.size())), forMillis);
    }

    static long millis(String s) {
        if (s.endsWith("ms")) {
            return Long.parseLong(s.substring(0, s.length() - 2));
        }
        if (s.endsWith("min")) {
            return Math.round(Double.parseDouble(s.substring(0, s.length() - 3)) * 60_000);
        }
        if (s.endsWith("s")) {
            return Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000);
        }
        throw new IllegalArgumentException("a duration needs a unit (ms, s, min): " + s);
    }
}
