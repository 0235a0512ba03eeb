package io.halcyon.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The invariant checker of the HA tests: a thread that looks at every process on the machine many
 * times a second and notes, for each QEMU process of the lab (by its cgroup, so frozen ones
 * count), which instance ({@code -uuid}) and which host it belongs to. Two hosts with a QEMU of
 * the same instance at the same instant is a violation, kept with its time and pids. It also
 * notes when each instance was first seen on each host, for failover timings.
 */
public final class QemuWatch implements AutoCloseable {
    private record Proc(String instance, String host) {
    }

    private final String prefix;
    private final Duration period;
    private final Thread thread;
    private final Map<String, Proc> known = new HashMap<>();
    private final List<String> violations = new ArrayList<>();
    private final Map<String, Map<String, Instant>> firstSeen = new ConcurrentHashMap<>();
    private final AtomicLong scans = new AtomicLong();
    private volatile Map<String, Set<String>> current = Map.of();
    private volatile boolean closed;

    private QemuWatch(Lab lab, Duration period) {
        this.prefix = lab.prefix();
        this.period = period;
        this.thread = new Thread(this::run, "qemu-watch-" + prefix);
        thread.setDaemon(true);
    }

    public static QemuWatch start(Lab lab, Duration period) {
        var w = new QemuWatch(lab, period);
        w.thread.start();
        return w;
    }

    private void run() {
        while (!closed) {
            scan();
            try {
                Thread.sleep(period.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void scan() {
        var where = new TreeMap<String, Set<String>>();
        var pids = new TreeMap<String, List<String>>();
        var seen = new java.util.HashSet<String>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String pid = p.getFileName().toString();
                if (!pid.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    if (f[0].equals("Z") || f[0].equals("X")) {
                        continue;
                    }
                    String key = pid + "@" + f[19];
                    seen.add(key);
                    Proc proc = known.get(key);
                    if (proc == null) {
                        proc = identify(p);
                        known.put(key, proc);
                    }
                    if (proc.instance() != null) {
                        where.computeIfAbsent(proc.instance(), k -> new TreeSet<>()).add(proc.host());
                        pids.computeIfAbsent(proc.instance(), k -> new ArrayList<>()).add(proc.host() + ":" + pid);
                    }
                } catch (IOException | RuntimeException e) {
                    // gone while we looked
                }
            }
        } catch (IOException e) {
            return;
        }
        known.keySet().retainAll(seen);
        Instant now = Instant.now();
        for (var e : where.entrySet()) {
            for (String h : e.getValue()) {
                firstSeen.computeIfAbsent(e.getKey(), k -> new ConcurrentHashMap<>()).putIfAbsent(h, now);
            }
            if (e.getValue().size() > 1) {
                synchronized (violations) {
                    violations.add(now + ": instance " + e.getKey() + " runs on " + e.getValue() + " at once (" + pids.get(e.getKey()) + ")");
                }
            }
        }
        current = where;
        scans.incrementAndGet();
    }

    private Proc identify(Path p) throws IOException {
        String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
        String[] argv = cmd.split("\0");
        if (argv.length == 0 || !argv[0].contains("qemu-system")) {
            return new Proc(null, null);
        }
        String uuid = null;
        for (int i = 0; i + 1 < argv.length; i++) {
            if (argv[i].equals("-uuid")) {
                uuid = argv[i + 1];
            }
        }
        String cg = Files.readString(p.resolve("cgroup")).strip();
        int at = cg.lastIndexOf("/" + prefix + "-");
        if (uuid == null || at < 0) {
            return new Proc(null, null);
        }
        return new Proc(uuid, cg.substring(at + prefix.length() + 2));
    }

    /** The hosts running a QEMU of {@code instance} at the last scan. */
    public Set<String> hostsOf(String instance) {
        return current.getOrDefault(instance, Set.of());
    }

    /** When the watch first saw {@code instance} on {@code host}, or null. */
    public Instant firstSeen(String instance, String host) {
        return firstSeen.getOrDefault(instance, Map.of()).get(host);
    }

    public long scans() {
        return scans.get();
    }

    public List<String> violations() {
        synchronized (violations) {
            return List.copyOf(violations);
        }
    }

    /** Throws when any instant had an instance on two hosts. */
    public void assertNeverTwice() {
        var v = violations();
        if (!v.isEmpty()) {
            throw new AssertionError("an instance ran on two hosts at once:\n" + String.join("\n", v));
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
