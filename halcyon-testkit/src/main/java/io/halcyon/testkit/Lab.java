package io.halcyon.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * The multi-host lab ({@code lab/lab.sh}) from Java: simulated hosts (a network namespace and a
 * PID namespace each) on a switch namespace, each with an ipmi_sim BMC, that tests power off,
 * freeze, cut off and bring back. Always destroyed on {@link #close}, and by a shutdown hook if
 * the JVM ends first.
 */
public final class Lab implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Lab.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path script;
    private final Path dir;
    private final Thread hook;
    private final JsonNode info;
    private boolean closed;

    private Lab(Path script, Path dir) {
        this.script = script;
        this.dir = dir;
        this.hook = new Thread(this::destroy, "lab-destroy");
        Runtime.getRuntime().addShutdownHook(hook);
        this.info = list();
    }

    /** Makes a lab of {@code hosts} hosts (all off) with its state in {@code dir}. */
    public static Lab create(Path repoRoot, Path dir, int hosts) {
        for (String[] b : new String[][]{{"ipmi_sim", "openipmi"}, {"ipmitool", "ipmitool"}, {"nft", "nftables"}, {"ethtool", "ethtool"}}) {
            Binaries.require(b[0], b[1]);
        }
        Path script = repoRoot.resolve("lab/lab.sh");
        run(script, Duration.ofMinutes(2), "create", dir.toString(), Integer.toString(hosts)).orThrow();
        try {
            var lab = new Lab(script, dir);
            log.info("event=lab_created prefix={} hosts={} dir={}", lab.prefix(), hosts, dir);
            return lab;
        } catch (RuntimeException e) {
            run(script, Duration.ofMinutes(1), "destroy", dir.toString());
            throw e;
        }
    }

    private static Command.Result run(Path script, Duration timeout, String... args) {
        var argv = new ArrayList<String>();
        argv.add(script.toString());
        argv.addAll(List.of(args));
        return Command.run(argv, Map.of(), timeout);
    }

    private Command.Result lab(String... args) {
        return run(script, Duration.ofMinutes(1), args);
    }

    public Path dir() {
        return dir;
    }

    public String prefix() {
        return info.path("prefix").asText();
    }

    /** Where the hosts reach the root namespace: the controller and OVN's databases listen here. */
    public String controllerIp() {
        return info.path("controllerIp").asText();
    }

    public String providerCidr() {
        return info.path("provider").asText();
    }

    public String providerGateway() {
        return info.path("providerGateway").asText();
    }

    /** The namespace standing on the provider network as its gateway (the outside world). */
    public String outsideNamespace() {
        return info.path("outsideNamespace").asText();
    }

    public List<String> hosts() {
        var out = new ArrayList<String>();
        info.path("hosts").forEach(h -> out.add(h.path("name").asText()));
        return out;
    }

    public JsonNode host(String name) {
        for (JsonNode h : list().path("hosts")) {
            if (h.path("name").asText().equals(name)) {
                return h;
            }
        }
        throw new IllegalArgumentException("no host " + name + " in lab " + prefix());
    }

    public String managementIp(String host) {
        return host(host).path("managementIp").asText();
    }

    public String tunnelIp(String host) {
        return host(host).path("tunnelIp").asText();
    }

    /** The lab as {@code lab.sh list --format json} prints it. */
    public JsonNode list() {
        try {
            return JSON.readTree(lab("list", dir.toString(), "--format", "json").orThrow().stdout());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The script the host runs when it powers on (and again whenever it exits). */
    public void boot(String host, String script) {
        Path f = dir.resolve("hosts").resolve(host).resolve("boot.sh");
        try {
            Files.writeString(f, script);
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path hostDir(String host) {
        return dir.resolve("hosts").resolve(host);
    }

    public void powerOn(String host) {
        lab("power-on", dir.toString(), host).orThrow();
    }

    public void powerOff(String host) {
        lab("power-off", dir.toString(), host).orThrow();
    }

    /** Cuts the power of several hosts at once: one after the other, a slow power-off would space the failures out. */
    public void powerOff(String first, String... more) {
        var calls = new ArrayList<CompletableFuture<Command.Result>>();
        for (String h : Stream.concat(Stream.of(first), Stream.of(more)).toList()) {
            calls.add(CompletableFuture.supplyAsync(() -> lab("power-off", dir.toString(), h)));
        }
        calls.forEach(c -> c.join().orThrow());
    }

    public void freeze(String host) {
        lab("freeze", dir.toString(), host).orThrow();
    }

    /** The host's watchdog fires after {@code seconds} while its agent is still told the lab's timeout; 0: honest again. */
    public void watchdogLies(String host, int seconds) {
        if (seconds > 0) {
            lab("watchdog-lie", dir.toString(), host, Integer.toString(seconds)).orThrow();
        } else {
            lab("watchdog-lie", dir.toString(), host).orThrow();
        }
    }

    public void thaw(String host) {
        lab("thaw", dir.toString(), host).orThrow();
    }

    public void cut(String host) {
        lab("cut", dir.toString(), host).orThrow();
    }

    public void restore(String host) {
        lab("restore", dir.toString(), host).orThrow();
    }

    /** The host's simulated hardware watchdog: the FIFO its agent opens as it would open /dev/watchdog. */
    public Path watchdogDevice(String host) {
        return Path.of(host(host).path("watchdog").path("device").asText());
    }

    /** The watchdogs' timeout, in seconds (the same for every host of a lab). */
    public int watchdogTimeoutSeconds() {
        return list().path("hosts").get(0).path("watchdog").path("timeoutSeconds").asInt();
    }

    /** The host's BMC: address, port, user and password for IPMI over LAN (lanplus). */
    public record Bmc(String address, int port, String user, String password) {
    }

    public Bmc bmc(String host) {
        JsonNode b = host(host).path("bmc");
        String[] ep = b.path("endpoint").asText().split(":");
        return new Bmc(ep[0], Integer.parseInt(ep[1]), b.path("user").asText(), b.path("password").asText());
    }

    /** Processes of a host (by its cgroup) whose command line contains {@code match}. */
    public List<Long> pids(String host, String match) {
        String group = "/" + prefix() + "-" + host;
        var out = new ArrayList<Long>();
        try (var procs = java.nio.file.Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String cg = java.nio.file.Files.readString(p.resolve("cgroup")).strip();
                    if (!cg.endsWith(group)) {
                        continue;
                    }
                    String cmd = new String(java.nio.file.Files.readAllBytes(p.resolve("cmdline")), java.nio.charset.StandardCharsets.UTF_8)
                            .replace('\0', ' ');
                    if (cmd.contains(match)) {
                        out.add(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // the process ended while we looked
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** The host's agent process (the JVM started by its boot script). */
    public long agentPid(String host) {
        var pids = pids(host, "serve --config " + hostDir(host).resolve("agent.yaml"));
        pids.removeIf(p -> !ProcessHandle.of(p).flatMap(h -> h.info().command()).map(c -> c.endsWith("java")).orElse(false));
        if (pids.size() != 1) {
            throw new IllegalStateException("expected one agent on " + host + ", found " + pids);
        }
        return pids.get(0);
    }

    /** Sends {@code signal} (KILL, STOP, CONT) to a process of this lab. */
    public void signal(long pid, String signal) {
        Command.run(List.of("kill", "-" + signal, Long.toString(pid)), Map.of(), Duration.ofSeconds(10)).orThrow();
    }

    /** Runs a command inside a host. */
    public Command.Result exec(String host, Duration timeout, String... cmd) {
        var args = new ArrayList<>(List.of("exec", dir.toString(), host));
        args.addAll(List.of(cmd));
        return run(script, timeout, args.toArray(String[]::new));
    }

    /** Runs a command in the provider network's outside namespace. */
    public Command.Result outside(Duration timeout, String... cmd) {
        var argv = new ArrayList<>(List.of("ip", "netns", "exec", outsideNamespace()));
        argv.addAll(List.of(cmd));
        return Command.run(argv, Map.of(), timeout);
    }

    private synchronized void destroy() {
        if (closed) {
            return;
        }
        closed = true;
        Command.Result r = run(script, Duration.ofMinutes(2), "destroy", dir.toString());
        if (r.exit() != 0) {
            log.warn("event=lab_destroy_failed dir={} stderr={}", dir, r.stderr());
        }
    }

    @Override
    public void close() {
        destroy();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down
        }
    }
}
