package io.halcyon.testkit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A real, throw-away Ceph from Debian's packages: one MON and one or more memstore OSDs, no
 * manager, cephx off, pool {@code rbd} of size 1, listening on one address ({@code 127.0.0.1}, or
 * the lab's root-namespace address so simulated hosts reach it) on ports picked at start. Ready in
 * about two seconds. Its daemons are stopped by their own PIDs (checked against their command
 * line, which names this cluster's ceph.conf) on {@link #close}, by a shutdown hook, or by
 * {@link #stop(Path)} from another process.
 *
 * <p>Pitfalls this avoids: without a manager, commands served by the manager (pg stat, df
 * numbers) hang or report zeros, so readiness is probed through librbd instead; paxos batches
 * monitor commands for a second by default, which made pool setup take seconds; a memstore OSD
 * keeps its data only across a clean stop ({@code osd fast shutdown = false}).
 */
public final class TestCeph implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TestCeph.class);
    public static final String POOL = "rbd";
    private static final Duration STEP = Duration.ofSeconds(60);

    private final Path dir;
    private final Path conf;
    private final String address;
    private final List<Process> daemons = new ArrayList<>();
    private Thread hook;

    private TestCeph(Path dir, String address) {
        this.dir = dir;
        this.conf = dir.resolve("ceph.conf");
        this.address = address;
    }

    /** A cluster on loopback with one OSD of 4 GiB. */
    public static TestCeph start(Path dir) {
        return start(dir, "127.0.0.1", 1, 4L << 30);
    }

    /**
     * Makes and starts a cluster in {@code dir} (which must not exist or be empty), listening on
     * {@code address}, with {@code osds} memstore OSDs of {@code osdBytes} each (held in RAM as
     * they fill).
     */
    public static TestCeph start(Path dir, String address, int osds, long osdBytes) {
        for (String[] b : new String[][]{{"ceph-mon", "ceph-mon"}, {"ceph-osd", "ceph-osd"}, {"ceph", "ceph-common"}, {"rbd", "ceph-common"},
                {"monmaptool", "ceph-mon"}, {"ceph-authtool", "ceph-common"}}) {
            Binaries.require(b[0], b[1]);
        }
        if (osds < 1 || osds > 3) {
            throw new IllegalArgumentException("1 to 3 OSDs");
        }
        if (dir.toString().matches(".*[\\s:,=;#$\\\\].*")) {
            throw new IllegalArgumentException("a Ceph directory must not contain whitespace or any of : , = ; # $ \\ (QEMU's rbd: names cannot hold them)");
        }
        var c = new TestCeph(dir.toAbsolutePath(), address);
        c.hook = new Thread(c::stopDaemons, "test-ceph-stop");
        Runtime.getRuntime().addShutdownHook(c.hook);
        long t0 = System.nanoTime();
        try {
            c.create(osds, osdBytes);
            log.info("event=test_ceph_started dir={} address={} osds={} ms={}", c.dir, address, osds, (System.nanoTime() - t0) / 1_000_000);
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * Starts again the cluster a stopped {@code dir} holds (memstore OSDs keep their data across a
     * clean stop), on the address and ports it was made with; makes a new one of one OSD of
     * {@code osdBytes} on {@code address} if {@code dir} holds none.
     */
    public static TestCeph startOrResume(Path dir, String address, long osdBytes) {
        Path conf = dir.toAbsolutePath().resolve("ceph.conf");
        if (!Files.exists(dir.toAbsolutePath().resolve("mon"))) {
            return start(dir, address, 1, osdBytes);
        }
        String text;
        try {
            text = Files.readString(conf);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + conf, e);
        }
        String addr = text.replaceAll("(?s).*\npublic addr = (\\S+)\n.*", "$1");
        var c = new TestCeph(dir.toAbsolutePath(), addr);
        c.hook = new Thread(c::stopDaemons, "test-ceph-stop");
        Runtime.getRuntime().addShutdownHook(c.hook);
        try {
            try (var osds = Files.list(c.dir.resolve("osd"))) {
                var ids = osds.map(p -> p.getFileName().toString()).filter(n -> n.matches("osd\\.\\d+")).sorted().toList();
                c.startMonitor();
                c.startOsds(ids.size());
            }
            c.probe();
            log.info("event=test_ceph_resumed dir={} address={}", c.dir, addr);
            return c;
        } catch (IOException e) {
            c.stopDaemons();
            throw new UncheckedIOException("cannot start the Ceph in " + dir, e);
        } catch (RuntimeException e) {
            c.stopDaemons();
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }

    public Path conf() {
        return conf;
    }

    public String pool() {
        return POOL;
    }

    public String address() {
        return address;
    }

    private void create(int osds, long osdBytes) {
        try {
            Files.createDirectories(dir);
            try (var s = Files.list(dir)) {
                if (s.findAny().isPresent()) {
                    throw new IllegalStateException(dir + " is not empty");
                }
            }
            for (String d : new String[]{"mon", "osd", "run", "log", "crash"}) {
                Files.createDirectories(dir.resolve(d));
            }
            int v1 = Ports.free();
            int v2 = Ports.free();
            String fsid = UUID.randomUUID().toString();
            Files.writeString(conf, conf(fsid, v1, v2, osdBytes));
            Path keyring = dir.resolve("keyring");
            // the keyring only matters if someone turns cephx on; mkfs wants one all the same
            exec(List.of("ceph-authtool", "--create-keyring", keyring.toString(), "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"));
            exec(List.of("ceph-authtool", keyring.toString(), "--gen-key", "-n", "client.admin", "--cap", "mon", "allow *", "--cap", "osd",
                    "allow *", "--cap", "mgr", "allow *"));
            exec(List.of("monmaptool", "--create", "--fsid", fsid, "--addv", "a",
                    "[v2:" + address + ":" + v2 + ",v1:" + address + ":" + v1 + "]", dir.resolve("monmap").toString()));
            exec(List.of("ceph-mon", "-c", conf.toString(), "--mkfs", "-i", "a", "--monmap", dir.resolve("monmap").toString(), "--keyring",
                    keyring.toString()));
            // the monitor's RocksDB makes its directory 0755 whatever the umask: for Ceph's user only
            try (var made = Files.walk(dir.resolve("mon"))) {
                for (Path p : (Iterable<Path>) made::iterator) {
                    if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
                    }
                }
            }
            startMonitor();
            var mkfs = new ArrayList<Process>();
            for (int i = 0; i < osds; i++) {
                String uuid = UUID.randomUUID().toString();
                String id = ceph("osd", "new", uuid).orThrow().stdout().strip();
                if (!id.equals(Integer.toString(i))) {
                    throw new IllegalStateException("Ceph gave OSD id " + id + ", expected " + i);
                }
                Files.createDirectories(dir.resolve("osd/osd." + i));
                mkfs.add(new ProcessBuilder("ceph-osd", "-c", conf.toString(), "-i", id, "--mkfs", "--osd-uuid", uuid).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("log/mkfs.osd." + i + ".log").toFile()).start());
            }
            for (int i = 0; i < osds; i++) {
                if (!mkfs.get(i).waitFor(STEP.toSeconds(), TimeUnit.SECONDS) || mkfs.get(i).exitValue() != 0) {
                    throw new IllegalStateException("ceph-osd --mkfs failed for osd." + i + ": " + tail(dir.resolve("log/mkfs.osd." + i + ".log")));
                }
            }
            startOsds(osds);
            ceph("osd", "pool", "create", POOL, "8", "8", "replicated").orThrow();
            rbd("pool", "init", POOL).orThrow();
            probe();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a test Ceph in " + dir, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private void startMonitor() throws IOException {
        spawn("mon.a", List.of("ceph-mon", "-i", "a"));
        await("the monitor to form a quorum", () -> ceph("mon", "stat").exit() == 0);
    }

    /** Starts OSDs 0 to {@code count - 1} (made already) and waits until the monitor counts them up. */
    private void startOsds(int count) throws IOException {
        for (int i = 0; i < count; i++) {
            spawn("osd." + i, List.of("ceph-osd", "-i", Integer.toString(i)));
        }
        await(count + " OSD(s) to come up", () -> {
            var r = ceph("osd", "stat", "-f", "json");
            return r.exit() == 0 && r.stdout().replaceAll("(?s).*\"num_up_osds\":(\\d+).*", "$1").equals(Integer.toString(count));
        });
    }

    /** Readiness through librbd: it blocks until the placement groups it touches are active. */
    private void probe() {
        rbd("create", "--size", "1M", POOL + "/.probe").orThrow();
        rbd("rm", "--no-progress", POOL + "/.probe").orThrow();
    }

    private String conf(String fsid, int v1, int v2, long osdBytes) {
        return """
                # a throw-away test Ceph made by Halcyon's test kit
                [global]
                fsid = %1$s
                mon host = [v2:%2$s:%4$d,v1:%2$s:%3$d]
                public addr = %2$s
                cluster addr = %2$s
                public network = %2$s/32
                ms bind ipv4 = true
                ms bind ipv6 = false
                auth cluster required = none
                auth service required = none
                auth client required = none
                auth allow insecure global id reclaim = false
                keyring = %5$s/keyring
                run dir = %5$s/run
                crash dir = %5$s/crash
                log file = %5$s/log/$name.log
                admin socket = %5$s/run/$name.$pid.asok
                osd pool default size = 1
                osd pool default min size = 1
                osd pool default pg autoscale mode = off
                osd crush chooseleaf type = 0
                mon allow pool size one = true
                mon allow pool delete = true
                mon warn on pool no redundancy = false
                mon warn on insecure global id reclaim allowed = false
                mon data avail warn = 1
                mon data avail crit = 0
                mon mgr mkfs grace = 31536000
                paxos propose interval = 0.1
                osd objectstore = memstore
                memstore device bytes = %6$d
                [mon]
                mon data = %5$s/mon/$name
                admin socket = %5$s/run/$name.asok
                [osd]
                osd data = %5$s/osd/$name
                admin socket = %5$s/run/$name.asok
                osd fast shutdown = false
                osd memory target = 939524096
                osd max object name len = 256
                osd max object namespace len = 64
                osd check max object name len on startup = false
                [client]
                log file = /dev/null
                """.formatted(fsid, address, v1, v2, dir, osdBytes);
    }

    private void spawn(String name, List<String> argv) throws IOException {
        // its own session: a terminal's Ctrl-C for whoever started the cloud does not reach it
        var cmd = new ArrayList<>(List.of("setsid"));
        cmd.addAll(argv);
        cmd.addAll(List.of("-c", conf.toString(), "-f"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log/" + name + ".stdout").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        daemons.add(p);
        Files.writeString(dir.resolve("run/" + name + ".pid"), Long.toString(p.pid()));
    }

    private static void exec(List<String> argv) {
        Command.run(argv, Map.of(), STEP).orThrow();
    }

    public Command.Result ceph(String... args) {
        var argv = new ArrayList<>(List.of("ceph", "-c", conf.toString(), "--connect-timeout", "10"));
        argv.addAll(List.of(args));
        return Command.run(argv, Map.of(), STEP);
    }

    public Command.Result rbd(String... args) {
        var argv = new ArrayList<>(List.of("rbd", "-c", conf.toString()));
        argv.addAll(List.of(args));
        return Command.run(argv, Map.of(), STEP);
    }

    private void await(String what, java.util.function.BooleanSupplier ready) {
        try {
            org.awaitility.Awaitility.await(what).atMost(STEP).pollInterval(Duration.ofMillis(100)).until(() -> {
                for (Process p : daemons) {
                    if (!p.isAlive()) {
                        throw new IllegalStateException("a Ceph daemon exited while waiting for " + what + "; logs in " + dir.resolve("log"));
                    }
                }
                return ready.getAsBoolean();
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new IllegalStateException("timed out waiting for " + what + "; logs in " + dir.resolve("log"), e);
        }
    }

    private static String tail(Path f) {
        try {
            var lines = Files.readAllLines(f, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** Leaves the daemons running after this JVM ends (for a cloud started from the command line). */
    public void detach() {
        if (hook != null) {
            Runtime.getRuntime().removeShutdownHook(hook);
            hook = null;
        }
    }

    private synchronized void stopDaemons() {
        // OSDs first, then the monitor; each by its own PID
        var order = new ArrayList<>(daemons);
        java.util.Collections.reverse(order);
        for (Process p : order) {
            p.destroy();
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        daemons.clear();
    }

    /** Stops the daemons and removes the cluster's directory. */
    @Override
    public void close() {
        stopDaemons();
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down
            }
            hook = null;
        }
        Files2.deleteTree(dir);
    }

    /**
     * Stops the daemons of the cluster in {@code dir} that another process started, by the PIDs it
     * recorded, each only if its command line still names that cluster's ceph.conf.
     */
    public static void stop(Path dir) {
        Path conf = dir.toAbsolutePath().resolve("ceph.conf");
        Path run = dir.toAbsolutePath().resolve("run");
        if (!Files.isDirectory(run)) {
            return;
        }
        try (var s = Files.list(run)) {
            var pids = s.filter(p -> p.getFileName().toString().endsWith(".pid")).sorted((a, b) -> b.getFileName().compareTo(a.getFileName()))
                    .toList();
            for (Path f : pids) {
                long pid = Long.parseLong(Files.readString(f).strip());
                ProcessHandle.of(pid).filter(h -> h.info().arguments().map(a -> List.of(a).contains(conf.toString())).orElse(false))
                        .ifPresent(h -> {
                            h.destroy();
                            try {
                                h.onExit().get(10, TimeUnit.SECONDS);
                            } catch (Exception e) {
                                h.destroyForcibly();
                            }
                        });
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stop the Ceph in " + dir, e);
        }
    }
}
