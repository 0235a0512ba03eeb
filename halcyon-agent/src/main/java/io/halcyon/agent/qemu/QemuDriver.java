package io.halcyon.agent.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.agent.driver.Observed;
import io.halcyon.model.agent.Assignment;
import io.halcyon.agent.net.HostNetwork;
import io.halcyon.agent.net.HostNetworkConfig;
import io.halcyon.model.agent.DiskSpec;
import io.halcyon.model.agent.NicSpec;
import io.halcyon.model.compute.PowerState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static java.util.Objects.requireNonNull;

/**
 * Runs guests with QEMU directly, one run directory per guest under {@code guests/<server id>/}:
 * {@code qmp.sock}, {@code qemu.pid}, {@code console.log}, {@code cmdline} (the command line used),
 * {@code config.img} and {@code state.json} (placement epoch and last reboot generation done).
 * Disks live on the storage the controller names in the assignment; the agent only creates a
 * root disk overlay there on first boot, and never deletes shared disks (the controller does).
 * QEMU is daemonized, so it is never a child of the agent and keeps running through agent
 * restarts; a new agent finds it by its pid file, checks the process is that guest's QEMU, and
 * reconnects over QMP. Volumes plugged in are read back from QEMU itself (its {@code vol-*}
 * devices), so what the agent reports is what the guest has, whoever plugged it.
 */
public final class QemuDriver implements GuestDriver {
    private static final Logger log = LoggerFactory.getLogger(QemuDriver.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration QMP_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_SOCKET_PATH = 107;

    public record Settings(String qemuBinary, String qemuImgBinary, String accel, String machine, Path guestsDir) {
        public Settings {
            requireNonNull(qemuBinary, "qemuBinary is null");
            requireNonNull(qemuImgBinary, "qemuImgBinary is null");
            requireNonNull(accel, "accel is null");
            requireNonNull(machine, "machine is null");
            requireNonNull(guestsDir, "guestsDir is null");
        }
    }

    /** Persistent facts about a guest, in its run directory. */
    record State(String serverId, long epoch, long rebootDone, long qemuStartMillis) {
    }

    private final Settings settings;
    private final Path socketRoot;
    private final Map<String, QmpClient> qmp = new ConcurrentHashMap<>();
    private final Map<String, PowerState> lastPower = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> lastVolumes = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> lastNics = new ConcurrentHashMap<>();
    private HostNetwork network = new HostNetwork("local", HostNetworkConfig.none(), null);
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
    private final QemuHotplug hotplug = new QemuHotplug(this);

    public QemuDriver(Settings settings) throws IOException {
        this.settings = requireNonNull(settings, "settings is null");
        Files.createDirectories(settings.guestsDir());
        this.socketRoot = socketRoot(settings.guestsDir());
    }

    /**
     * UNIX socket paths are limited to 107 bytes. When the guests directory is too deep for that,
     * sockets are reached through a short symbolic link to it under /run/halcyon (or /tmp), named
     * after a hash of the directory so that several agents on one machine never share one.
     */
    static Path socketRoot(Path guestsDir) throws IOException {
        Path longest = guestsDir.resolve("00000000-0000-0000-0000-000000000000").resolve("qmp.sock");
        if (longest.toString().length() <= MAX_SOCKET_PATH) {
            return guestsDir;
        }
        String hash;
        try {
            hash = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(guestsDir.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8))).substring(0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path base = io.halcyon.config.PrivateDirs.ensure(Files.isWritable(Path.of("/run")) ? Path.of("/run/halcyon")
                : Path.of("/tmp/halcyon-" + io.halcyon.config.PrivateDirs.currentUid()));
        Path link = base.resolve("qmp-" + hash);
        if (Files.isSymbolicLink(link) && !Files.readSymbolicLink(link).equals(guestsDir.toAbsolutePath())) {
            Files.delete(link);
        }
        if (!Files.isSymbolicLink(link)) {
            Files.createSymbolicLink(link, guestsDir.toAbsolutePath());
        }
        return link;
    }

    private Path socket(String serverId) {
        return socketRoot.resolve(serverId).resolve("qmp.sock");
    }

    HostNetwork network() {
        return network;
    }

    /** The guest's NICs as last read from QEMU by {@link #plugged}. */
    Set<String> nicsSeen(String serverId) {
        return lastNics.getOrDefault(serverId, Set.of());
    }

    /** The host network NICs are plugged into (a bare tap without one). */
    public QemuDriver withNetwork(HostNetwork hostNetwork) {
        this.network = requireNonNull(hostNetwork, "hostNetwork is null");
        return this;
    }

    public Settings settings() {
        return settings;
    }

    @Override
    public void onChange(Consumer<String> listener) {
        listeners.add(listener);
    }

    private void changed(String serverId) {
        for (Consumer<String> l : listeners) {
            l.accept(serverId);
        }
    }

    Path dir(String serverId) {
        return settings.guestsDir().resolve(serverId);
    }

    private State readState(String serverId) {
        try {
            return JSON.readValue(dir(serverId).resolve("state.json").toFile(), State.class);
        } catch (IOException e) {
            return null;
        }
    }

    private void writeState(State s) throws IOException {
        Path tmp = dir(s.serverId()).resolve("state.json.tmp");
        Files.write(tmp, JSON.writeValueAsBytes(s));
        Files.move(tmp, dir(s.serverId()).resolve("state.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public List<Observed> discover() {
        var out = new ArrayList<Observed>();
        try (var s = Files.list(settings.guestsDir())) {
            for (Path d : s.sorted(Comparator.naturalOrder()).toList()) {
                if (!Files.isDirectory(d)) {
                    continue;
                }
                String id = d.getFileName().toString();
                Observed o = observe(id);
                if (o != null) {
                    out.add(o);
                    log.info("event=guest_discovered server_id={} alive={} pid={} power={}", id, o.alive(), pid(id), o.power());
                }
            }
        } catch (IOException e) {
            log.error("event=discover_failed dir={} error=\"{}\"", settings.guestsDir(), e.getMessage());
        }
        try {
            var live = new java.util.HashSet<String>();
            out.forEach(o -> live.add(o.serverId()));
            network.sweep(live);
        } catch (IOException e) {
            log.warn("event=tap_sweep_failed error=\"{}\"", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }

    /** The pid of the guest's QEMU when it runs: the pid file names a live process whose command line carries its uuid. */
    public long pid(String serverId) {
        try {
            long pid = Long.parseLong(Files.readString(dir(serverId).resolve("qemu.pid")).trim());
            Path proc = Path.of("/proc", Long.toString(pid));
            String stat = Files.readString(proc.resolve("stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            if (state == 'Z' || state == 'X') {
                return -1;
            }
            String cmdline = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8);
            return cmdline.contains("-uuid\0" + serverId + "\0") ? pid : -1;
        } catch (IOException | NumberFormatException | StringIndexOutOfBoundsException e) {
            return -1;
        }
    }

    @Override
    public Observed observe(String serverId) {
        State st = readState(serverId);
        if (st == null) {
            return Files.isDirectory(dir(serverId)) ? new Observed(serverId, 0, false, PowerState.NOSTATE, 0, 0, Set.of()) : null;
        }
        long pid = pid(serverId);
        if (pid < 0) {
            dropQmp(serverId);
            return new Observed(serverId, st.epoch(), false, PowerState.SHUTDOWN, st.rebootDone(), st.qemuStartMillis(), Set.of(), Set.of(),
                    Files.exists(dir(serverId).resolve(STOPPED)));
        }
        PowerState power;
        Set<String> volumes;
        Set<String> nics;
        try {
            power = status(serverId);
            volumes = plugged(serverId);
            nics = lastNics.getOrDefault(serverId, Set.of());
        } catch (IOException e) {
            log.warn("event=qmp_status_failed server_id={} error=\"{}\"", serverId, e.getMessage());
            power = lastPower.getOrDefault(serverId, PowerState.NOSTATE);
            volumes = lastVolumes.getOrDefault(serverId, Set.of());
            nics = lastNics.getOrDefault(serverId, Set.of());
        }
        return new Observed(serverId, st.epoch(), true, power, st.rebootDone(), st.qemuStartMillis(), volumes, nics);
    }

    /** Volumes whose device is in the guest now: a device stays listed until the guest has released it. */
    /** The volumes plugged into the guest, read from QEMU (and its NICs, kept for {@link #nicsSeen}). */
    Set<String> plugged(String serverId) throws IOException {
        var args = QmpClient.args();
        args.put("path", "/machine/peripheral");
        JsonNode r = qmp(serverId).execute("qom-list", args, QMP_TIMEOUT);
        var out = new HashSet<String>();
        var nics = new HashSet<String>();
        for (JsonNode p : r) {
            String name = p.path("name").asText();
            if (!p.path("type").asText().startsWith("child<")) {
                continue;
            }
            if (name.startsWith(QemuCommand.DEVICE_PREFIX)) {
                out.add(name.substring(QemuCommand.DEVICE_PREFIX.length()));
            } else if (name.startsWith(QemuCommand.NIC_PREFIX)) {
                nics.add(name.substring(QemuCommand.NIC_PREFIX.length()));
            }
        }
        lastVolumes.put(serverId, Set.copyOf(out));
        lastNics.put(serverId, Set.copyOf(nics));
        return out;
    }

    @Override
    public List<io.halcyon.backup.repo.BackupIndex> backup(String serverId, List<DiskBackup> disks) throws Exception {
        var members = new ArrayList<QemuBackup.Member>();
        for (DiskBackup d : disks) {
            members.add(new QemuBackup.Member(d.rootDisk() ? "root" : QemuCommand.formatNode(d.task().volumeId()), d.task()));
        }
        // one backup per guest at a time: QEMU has one NBD server
        synchronized (backupLock(serverId)) {
            return new QemuBackup(qmp(serverId), socketRoot.resolve(serverId), settings.qemuImgBinary(), members).run();
        }
    }

    private final Map<String, Object> backupLocks = new ConcurrentHashMap<>();

    private Object backupLock(String serverId) {
        return backupLocks.computeIfAbsent(serverId, k -> new Object());
    }

    QmpClient qmp(String serverId) throws IOException {
        QmpClient c = qmp.get(serverId);
        if (c != null && !c.isClosed()) {
            return c;
        }
        synchronized (this) {
            c = qmp.get(serverId);
            if (c != null && !c.isClosed()) {
                return c;
            }
            c = QmpClient.connect(socket(serverId), QMP_TIMEOUT, ev -> onEvent(serverId, ev), () -> {
                qmp.remove(serverId);
                changed(serverId);
            });
            qmp.put(serverId, c);
            return c;
        }
    }

    private void dropQmp(String serverId) {
        QmpClient c = qmp.remove(serverId);
        if (c != null) {
            c.close();
        }
    }

    private void onEvent(String serverId, JsonNode ev) {
        String name = ev.path("event").asText();
        log.info("event=qmp_event server_id={} qmp_event={}", serverId, name);
        if (name.equals("DEVICE_DELETED")) {
            String device = ev.path("data").path("device").asText("");
            hotplug.deviceDeleted(serverId, device);
            if (device.startsWith(QemuCommand.DEVICE_PREFIX) || device.startsWith(QemuCommand.NIC_PREFIX)) {
                changed(serverId);
            }
        }
        if (name.equals("SHUTDOWN") || name.equals("RESET") || name.equals("STOP") || name.equals("RESUME")
                || name.equals("GUEST_PANICKED") || name.equals("WATCHDOG")) {
            changed(serverId);
        }
    }

    private PowerState status(String serverId) throws IOException {
        JsonNode r = qmp(serverId).execute("query-status", null, QMP_TIMEOUT);
        PowerState p = switch (r.path("status").asText()) {
            case "running" -> PowerState.RUNNING;
            case "shutdown" -> PowerState.SHUTDOWN;
            case "guest-panicked", "internal-error", "io-error", "watchdog" -> PowerState.CRASHED;
            case "suspended" -> PowerState.SUSPENDED;
            default -> PowerState.PAUSED;
        };
        lastPower.put(serverId, p);
        return p;
    }

    @Override
    public void spawn(Assignment a) throws Exception {
        String id = a.serverId();
        DiskSpec root = requireNonNull(a.rootDisk(), "the assignment has no root disk yet");
        // before anything is written: a guest whose disk another QEMU still holds waits here
        DiskLease.check(root, a.volumes());
        Path d = dir(id);
        Files.createDirectories(d);
        Files.deleteIfExists(d.resolve(STOPPED));
        writeState(new State(id, a.epoch(), a.rebootGeneration(), 0));
        if (!root.rbd() && !Files.exists(Path.of(root.path()))) {
            if (root.base() == null) {
                throw new IOException("the root disk " + root.path() + " is missing and there is no image to make it from");
            }
            createOverlay(root);
        }
        Path config = null;
        boolean wantsConfig = a.configDrive() || (a.userData() != null && !a.userData().isEmpty());
        if (wantsConfig) {
            config = d.resolve("config.img");
            if (!Files.exists(config)) {
                ConfigDrive.build(a, config, d);
            }
        }
        for (NicSpec n : a.nics()) {
            network.plug(id, n);
        }
        hotplug.recordNics(id, a.nics().stream().map(NicSpec::portId).toList(), List.of());
        dropQmp(id);
        Files.deleteIfExists(d.resolve("qmp.sock"));
        Files.deleteIfExists(d.resolve("qemu.pid"));
        var spec = new QemuCommand.Spec(id, "instance-" + id.substring(0, 8), a.flavor().vcpus(), a.flavor().ramMb(), settings.accel(),
                settings.machine(), settings.qemuBinary(), root, a.volumes(), config, d.resolve("console.log"), socket(id),
                d.resolve("qemu.pid"), a.nics(), QemuCommand.watchdogAction(a.flavor().extraSpecs().get("hw:watchdog_action"), a.ha()),
                QemuCommand.serialPorts(a.flavor().extraSpecs().get("hw:serial_port_count")));
        int ports = spec.serialPorts();
        for (int n = 1; n < ports; n++) {
            // made here, 0600, as the console log is: QEMU would create it readable by its group
            Path log = QemuCommand.serialLog(d, n);
            if (!Files.exists(log)) {
                Files.createFile(log, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(io.halcyon.config.PrivateDirs.OWNER_FILE));
            }
        }
        List<String> argv = QemuCommand.argv(spec);
        Files.writeString(d.resolve("cmdline"), String.join(" ", argv) + "\n");
        // QEMU daemonizes with umask 027, so what it creates after that is readable by its group: the
        // console log (the guest's output) is made here first, and the QMP socket is tightened below
        if (Files.exists(d.resolve("console.log"))) {
            io.halcyon.config.PrivateDirs.tighten(d.resolve("console.log"));
        } else {
            Files.createFile(d.resolve("console.log"), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    io.halcyon.config.PrivateDirs.OWNER_FILE));
        }
        long start = System.nanoTime();
        Path errors = d.resolve("qemu.stderr");
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(errors.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("QEMU did not daemonize within 60 s");
        }
        if (p.exitValue() != 0) {
            String out = tail(errors, 600);
            if (DiskLease.refusedForLock(out)) {
                throw new DiskLease.HeldException("another QEMU took a disk's lease as this one started: " + out);
            }
            throw new IOException("QEMU failed to start (exit " + p.exitValue() + "): " + out);
        }
        if (Files.exists(d.resolve("qmp.sock"))) {
            Files.setPosixFilePermissions(d.resolve("qmp.sock"), io.halcyon.config.PrivateDirs.OWNER_FILE);
        }
        PowerState power = status(id);
        long millis = (System.nanoTime() - start) / 1_000_000;
        writeState(new State(id, a.epoch(), a.rebootGeneration(), Math.max(1, millis)));
        log.info("event=guest_started server_id={} pid={} accel={} qemu_start_ms={} power={} volumes={} nics={}", id, pid(id),
                settings.accel(), millis, power, a.volumes().size(), a.nics().size());
    }

    /**
     * The root disk as a qcow2 overlay of its base, built under a hidden name beside it and renamed
     * into place. The base is named relative to the disk, so the storage can be mounted anywhere.
     */
    private void createOverlay(DiskSpec root) throws IOException, InterruptedException {
        Path disk = Path.of(root.path()).toAbsolutePath();
        Path base = Path.of(root.base().path()).toAbsolutePath();
        Files.createDirectories(disk.getParent());
        Path tmp = disk.resolveSibling("." + disk.getFileName() + ".part");
        Files.deleteIfExists(tmp);
        var cmd = new ArrayList<>(List.of(settings.qemuImgBinary(), "create", "-q", "-f", "qcow2", "-F", root.base().format(), "-b",
                disk.getParent().relativize(base).toString(), tmp.toString()));
        long virtual = virtualSize(base, root.base().format());
        if (root.sizeBytes() > virtual) {
            cmd.add(Long.toString(root.sizeBytes()));
        }
        run(cmd);
        Files.move(tmp, disk, StandardCopyOption.ATOMIC_MOVE);
    }

    private long virtualSize(Path image, String format) throws IOException, InterruptedException {
        String out = run(List.of(settings.qemuImgBinary(), "info", "--output=json", "-f", format, image.toString()));
        return JSON.readTree(out).path("virtual-size").asLong();
    }

    private static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out.trim());
        }
        return out;
    }

    private static String tail(Path file, int max) {
        try {
            String s = Files.readString(file).trim();
            return s.length() > max ? s.substring(s.length() - max) : s;
        } catch (IOException e) {
            return "(no output)";
        }
    }

    @Override
    public boolean powerDown(String serverId, Duration timeout) throws Exception {
        if (pid(serverId) < 0) {
            return true;
        }
        if (status(serverId) == PowerState.SHUTDOWN) {
            return true;
        }
        qmp(serverId).execute("system_powerdown", null, QMP_TIMEOUT);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (pid(serverId) < 0 || status(serverId) == PowerState.SHUTDOWN) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }

    @Override
    public void reset(String serverId, long rebootGeneration) throws Exception {
        QmpClient c = qmp(serverId);
        c.execute("system_reset", null, QMP_TIMEOUT);
        if (status(serverId) != PowerState.RUNNING) {
            c.execute("cont", null, QMP_TIMEOUT);
        }
        State st = readState(serverId);
        writeState(new State(serverId, st == null ? 0 : st.epoch(), rebootGeneration, st == null ? 0 : st.qemuStartMillis()));
        status(serverId);
        log.info("event=guest_reset server_id={} reboot_generation={}", serverId, rebootGeneration);
    }

    /** Marks a guest the agent stopped on purpose, so a QEMU that is gone without it is known to have died. */
    private static final String STOPPED = "stopped";

    @Override
    public java.util.Set<String> fenceKill(java.util.Collection<String> serverIds, Duration within) {
        var pids = new java.util.HashMap<String, Long>();
        for (String id : serverIds) {
            try {
                if (Files.isDirectory(dir(id))) {
                    Files.writeString(dir(id).resolve(STOPPED), "");
                }
            } catch (IOException e) {
                // the kill matters, not the marker: without it the guest reads as died, and stays off until assigned again
            }
            long pid = pid(id);
            if (pid >= 0) {
                pids.put(id, pid);
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        long deadline = System.nanoTime() + within.toNanos();
        var left = new java.util.HashSet<>(pids.keySet());
        while (true) {
            left.removeIf(id -> pid(id) < 0);
            if (left.isEmpty() || System.nanoTime() >= deadline) {
                break;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (String id : pids.keySet()) {
            if (!left.contains(id)) {
                dropQmp(id);
                lastPower.put(id, PowerState.SHUTDOWN);
                log.warn("event=guest_fence_killed server_id={} pid={}", id, pids.get(id));
            }
        }
        return left;
    }

    @Override
    public void kill(String serverId) throws Exception {
        if (Files.isDirectory(dir(serverId))) {
            Files.writeString(dir(serverId).resolve(STOPPED), "");
        }
        long pid = pid(serverId);
        if (pid < 0) {
            dropQmp(serverId);
            return;
        }
        try {
            qmp(serverId).execute("quit", null, Duration.ofSeconds(3));
        } catch (IOException e) {
            // the connection drops as QEMU exits; SIGKILL below covers a QEMU that does not
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (pid(serverId) >= 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        if (pid(serverId) >= 0) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (pid(serverId) >= 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }
        dropQmp(serverId);
        lastPower.put(serverId, PowerState.SHUTDOWN);
        log.info("event=guest_stopped server_id={} pid={}", serverId, pid);
    }

    @Override
    public void destroy(String serverId) throws Exception {
        kill(serverId);
        for (String port : hotplug.recordedNics(serverId)) {
            network.unplug(port);
        }
        Path d = dir(serverId);
        if (Files.exists(d)) {
            try (var s = Files.walk(d)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        lastPower.remove(serverId);
        lastVolumes.remove(serverId);
        lastNics.remove(serverId);
        log.info("event=guest_destroyed server_id={}", serverId);
    }

    @Override
    public void attach(String serverId, DiskSpec volume) throws Exception {
        hotplug.attach(serverId, volume);
    }

    @Override
    public void detach(String serverId, String volumeId) throws Exception {
        hotplug.detach(serverId, volumeId);
    }

    @Override
    public void plugNic(String serverId, NicSpec nic) throws Exception {
        hotplug.plugNic(serverId, nic);
    }

    @Override
    public void unplugNic(String serverId, String portId) throws Exception {
        hotplug.unplugNic(serverId, portId);
    }

    @Override
    public String console(String serverId, Integer lines) throws IOException {
        Path log = dir(serverId).resolve("console.log");
        if (!Files.exists(log)) {
            return null;
        }
        long max = 1 << 20;
        byte[] data;
        try (var f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            long start = Math.max(0, len - max);
            data = new byte[(int) (len - start)];
            f.seek(start);
            f.readFully(data);
        }
        String text = new String(data, StandardCharsets.UTF_8).replace("\r\n", "\n");
        if (lines == null || lines < 0) {
            return text;
        }
        String[] all = text.split("\n", -1);
        int end = all.length;
        if (end > 0 && all[end - 1].isEmpty()) {
            end--;
        }
        int from = Math.max(0, end - lines);
        var sb = new StringBuilder();
        for (int i = from; i < end; i++) {
            sb.append(all[i]).append('\n');
        }
        return sb.toString();
    }

}
