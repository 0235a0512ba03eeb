package io.halcyon.testkit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * OVN's central part, for real: the northbound and southbound databases (Debian's ovsdb-server with
 * OVN's schemas) and ovn-northd, as foreground child processes of the test, listening on UNIX
 * sockets in a short private directory and on loopback TCP ports picked at start.
 */
public final class OvnCentral implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OvnCentral.class);

    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    private int nbPort;
    private int sbPort;

    private OvnCentral(Path dir) {
        this.dir = dir;
    }

    /** Starts NB, SB and northd; {@code bind} is the address the TCP listeners use (127.0.0.1 for loopback). */
    public static OvnCentral start(String bind) {
        Binaries.require("ovsdb-server", "openvswitch-switch");
        Binaries.require("ovn-northd", "ovn-central");
        Path dir;
        try {
            // UNIX socket paths must stay under 108 bytes
            dir = Files.createTempDirectory(Path.of("/tmp"), "hovn");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var c = new OvnCentral(dir);
        try {
            c.nbPort = Ports.free();
            c.sbPort = Ports.free();
            c.db("nb", "/usr/share/ovn/ovn-nb.ovsschema", bind, c.nbPort);
            c.db("sb", "/usr/share/ovn/ovn-sb.ovsschema", bind, c.sbPort);
            c.spawn("northd", List.of("ovn-northd", "--ovnnb-db=unix:" + dir.resolve("nb.sock"), "--ovnsb-db=unix:" + dir.resolve("sb.sock"),
                    "--unixctl=" + dir.resolve("northd.ctl"), "--log-file=" + dir.resolve("northd.log"), "-vconsole:off"));
            c.nbctl("--timeout=20", "--wait=sb", "sync").orThrow();
            log.info("event=ovn_central_started dir={} nb_port={} sb_port={}", dir, c.nbPort, c.sbPort);
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private void db(String name, String schema, String bind, int port) {
        Path file = dir.resolve(name + ".db");
        Command.run(List.of("ovsdb-tool", "create", file.toString(), schema), env(), Duration.ofSeconds(20)).orThrow();
        String table = name.equals("nb") ? "OVN_Northbound,NB_Global" : "OVN_Southbound,SB_Global";
        spawn(name, List.of("ovsdb-server", file.toString(), "--remote=punix:" + dir.resolve(name + ".sock"),
                "--remote=ptcp:" + port + ":" + bind, "--remote=db:" + table + ",connections",
                "--unixctl=" + dir.resolve(name + ".ctl"), "--log-file=" + dir.resolve(name + ".log"), "-vconsole:off"));
        try {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).pollInterval(java.time.Duration.ofMillis(20))
                    .until(() -> Files.exists(dir.resolve(name + ".sock")));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new IllegalStateException("ovsdb-server " + name + " did not open its socket; see " + dir.resolve(name + ".log"), e);
        }
    }

    private void spawn(String name, List<String> argv) {
        try {
            var pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".out").toFile());
            pb.environment().putAll(env());
            processes.add(pb.start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + argv.get(0), e);
        }
    }

    private Map<String, String> env() {
        String d = dir.toString();
        return Map.of("OVS_RUNDIR", d, "OVS_DBDIR", d, "OVS_LOGDIR", d, "OVN_RUNDIR", d, "OVN_DBDIR", d, "OVN_LOGDIR", d);
    }

    public String nbUnix() {
        return "unix:" + dir.resolve("nb.sock");
    }

    public String nbTcp(String host) {
        return "tcp:" + host + ":" + nbPort;
    }

    public String sbTcp(String host) {
        return "tcp:" + host + ":" + sbPort;
    }

    public Path dir() {
        return dir;
    }

    /** Runs ovn-nbctl against this northbound database. */
    public Command.Result nbctl(String... args) {
        var argv = new ArrayList<>(List.of("ovn-nbctl", "--db=" + nbUnix()));
        argv.addAll(List.of(args));
        return Command.run(argv, env(), Duration.ofSeconds(30));
    }

    /** Runs ovn-sbctl against this southbound database. */
    public Command.Result sbctl(String... args) {
        var argv = new ArrayList<>(List.of("ovn-sbctl", "--db=unix:" + dir.resolve("sb.sock")));
        argv.addAll(List.of(args));
        return Command.run(argv, env(), Duration.ofSeconds(30));
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Files2.deleteTree(dir);
    }
}
