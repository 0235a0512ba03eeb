package io.halcyon.agent.net;

import io.halcyon.model.agent.NicSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * The host side of guest networking. With {@code ovs} configured, the agent runs the host's
 * Open vSwitch (ovsdb-server and ovs-vswitchd) and ovn-controller, registered as a chassis named
 * after the host with its tenant address as Geneve endpoint, and plugs each guest NIC as a tap on
 * {@code br-int} carrying the port id as {@code iface-id}; OVN does the rest. The daemons outlive
 * the agent like its guests do, and a restarted agent adopts them. Without {@code ovs}, a NIC is a
 * bare tap the guest can use but that reaches nothing.
 *
 * <p>On the userspace datapath three things matter or TCP silently breaks: the tunnel address
 * lives on an OVS bridge holding the tenant NIC ({@code br-phy}), veths feeding OVS have TX
 * checksum offload off, and QEMU's tap runs without a vnet header.
 */
public final class HostNetwork {
    private static final Logger log = LoggerFactory.getLogger(HostNetwork.class);

    private final String host;
    private final HostNetworkConfig config;
    private final Path runDir;

    public HostNetwork(String host, HostNetworkConfig config, Path defaultRunDir) {
        this.host = requireNonNull(host, "host is null");
        this.config = requireNonNull(config, "config is null");
        this.runDir = config.ovs() == null ? null : (config.ovs().runDir() != null ? config.ovs().runDir() : defaultRunDir);
    }

    public boolean managesOvs() {
        return config.ovs() != null;
    }

    public Path runDir() {
        return runDir;
    }

    private boolean netdev() {
        return config.ovs() != null && "netdev".equals(config.ovs().datapath());
    }

    /** Starts (or adopts) the host's Open vSwitch and ovn-controller and sets the chassis up. */
    public void start() throws IOException, InterruptedException {
        if (config.ovs() == null) {
            return;
        }
        io.halcyon.config.PrivateDirs.ensure(runDir);
        Path db = runDir.resolve("conf.db");
        if (!alive("ovsdb-server")) {
            if (!Files.exists(db)) {
                run(List.of("ovsdb-tool", "create", db.toString(), "/usr/share/openvswitch/vswitch.ovsschema"));
            }
            daemon("ovsdb-server", List.of(db.toString(), "--remote=punix:" + runDir.resolve("db.sock")));
            vsctl("--no-wait", "--", "init");
        }
        if (!alive("ovs-vswitchd")) {
            daemon("ovs-vswitchd", List.of("unix:" + runDir.resolve("db.sock")));
        }
        String datapath = config.ovs().datapath();
        String integration = integrationBridge();
        String tunnelBridge = config.ovs().bridge("phy");
        vsctl("--may-exist", "add-br", integration, "--", "set", "bridge", integration, "datapath_type=" + datapath,
                "fail_mode=secure", "other_config:disable-in-band=true");
        HostNetworkConfig.Iface tenant = config.tenant();
        String encapIp = tenant != null ? tenant.ip() : config.ovs().encapIp();
        if (netdev() && tenant != null) {
            // userspace tunnelling sends from an OVS bridge of its own datapath: the address moves to br-phy
            noOffload(tenant.name());
            vsctl("--may-exist", "add-br", tunnelBridge, "--", "set", "bridge", tunnelBridge, "datapath_type=netdev", "--",
                    "--may-exist", "add-port", tunnelBridge, tenant.name());
            run(List.of("ip", "addr", "flush", "dev", tenant.name()));
            run(List.of("ip", "addr", "replace", tenant.address(), "dev", tunnelBridge));
            run(List.of("ip", "link", "set", tunnelBridge, "up"));
            run(List.of("ip", "link", "set", tenant.name(), "up"));
        }
        var mappings = new ArrayList<String>();
        for (var e : config.providers().entrySet()) {
            String bridge = config.ovs().bridge(e.getKey());
            if (netdev()) {
                noOffload(e.getValue().name());
            }
            vsctl("--may-exist", "add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=" + datapath, "--",
                    "--may-exist", "add-port", bridge, e.getValue().name());
            run(List.of("ip", "link", "set", e.getValue().name(), "up"));
            mappings.add(e.getKey() + ":" + bridge);
        }
        var ids = new ArrayList<>(List.of("set", "open", ".", "external_ids:system-id=" + host, "external_ids:hostname=" + host,
                "external_ids:ovn-remote=" + config.ovnSouthbound(), "external_ids:ovn-encap-type=geneve",
                "external_ids:ovn-encap-ip=" + encapIp, "external_ids:ovn-bridge=" + integration,
                "external_ids:ovn-bridge-datapath-type=" + datapath));
        ids.add("external_ids:ovn-bridge-mappings=\"" + String.join(",", mappings) + "\"");
        vsctl(ids.toArray(String[]::new));
        if (!alive("ovn-controller")) {
            daemon("ovn-controller", List.of("unix:" + runDir.resolve("db.sock")));
        }
        log.info("event=host_network_started host={} datapath={} encap_ip={} mappings={}", host, datapath, encapIp, mappings);
    }

    private String integrationBridge() {
        return config.ovs() == null ? "br-int" : config.ovs().bridge("int");
    }

    /** Makes the guest's tap and plugs it into br-int as the port's logical port. Idempotent. */
    public void plug(String serverId, NicSpec nic) throws IOException, InterruptedException {
        String tap = nic.tap();
        if (!Files.exists(Path.of("/sys/class/net", tap))) {
            run(List.of("ip", "tuntap", "add", "dev", tap, "mode", "tap"));
        }
        run(List.of("ip", "link", "set", "dev", tap, "mtu", Integer.toString(nic.mtu()), "up"));
        if (config.ovs() != null) {
            vsctl("--may-exist", "add-port", integrationBridge(), tap, "--", "set", "interface", tap,
                    "external_ids:iface-id=" + nic.portId(), "external_ids:attached-mac=\"" + nic.macAddress() + "\"",
                    "external_ids:halcyon-server=" + serverId, "external_ids:iface-status=active");
        }
        log.info("event=nic_plugged_host server_id={} port_id={} tap={}", serverId, nic.portId(), tap);
    }

    /** Unplugs and deletes the port's tap. Idempotent. */
    public void unplug(String portId) throws IOException, InterruptedException {
        String tap = new NicSpec(portId, "00:00:00:00:00:00", 0).tap();
        if (config.ovs() != null) {
            vsctl("--if-exists", "del-port", integrationBridge(), tap);
        }
        if (Files.exists(Path.of("/sys/class/net", tap))) {
            run(List.of("ip", "link", "del", "dev", tap));
        }
        log.info("event=nic_unplugged_host port_id={} tap={}", portId, tap);
    }

    /**
     * Removes the taps of guests this host no longer has (left by a crash, or by a power-off that
     * a recovered host's old database remembers): a stale tap would make OVN bind the port here.
     */
    public void sweep(Set<String> liveServers) throws IOException, InterruptedException {
        if (config.ovs() == null) {
            return;
        }
        for (var e : interfaces().entrySet()) {
            String name = e.getKey();
            String server = e.getValue().get("halcyon-server");
            if (server != null && !liveServers.contains(server)) {
                vsctl("--if-exists", "del-port", integrationBridge(), name);
                if (Files.exists(Path.of("/sys/class/net", name))) {
                    run(List.of("ip", "link", "del", "dev", name));
                }
                log.info("event=stale_tap_removed tap={} server_id={}", name, server);
            }
        }
    }

    /** The port ids plugged into br-int on this host, for checks. */
    public Set<String> pluggedPorts() throws IOException, InterruptedException {
        var out = new HashSet<String>();
        if (config.ovs() == null) {
            return out;
        }
        for (Map<String, String> ids : interfaces().values()) {
            if (ids.containsKey("iface-id")) {
                out.add(ids.get("iface-id"));
            }
        }
        return out;
    }

    /** Every OVS interface of this host with its external_ids. */
    private Map<String, Map<String, String>> interfaces() throws IOException, InterruptedException {
        String out = vsctl("--format=csv", "--data=bare", "--no-headings", "--columns=name,external_ids", "list", "Interface");
        var result = new HashMap<String, Map<String, String>>();
        for (String line : out.split("\n")) {
            int comma = line.indexOf(',');
            if (comma <= 0) {
                continue;
            }
            Map<String, String> ids = new HashMap<>();
            for (String kv : line.substring(comma + 1).replace("\"", "").trim().split("\\s+")) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    ids.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
            result.put(line.substring(0, comma).replace("\"", ""), ids);
        }
        return result;
    }

    private void noOffload(String nic) throws IOException, InterruptedException {
        // a veth hands OVS's AF_PACKET socket half-checksummed packets; forwarded as they are, TCP dies
        run(List.of("ethtool", "-K", nic, "tx", "off"));
    }

    private boolean alive(String daemon) {
        Path pidFile = runDir.resolve(daemon + ".pid");
        try {
            if (!Files.exists(pidFile)) {
                return false;
            }
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            Path cmdline = Path.of("/proc", Long.toString(pid), "cmdline");
            return Files.exists(cmdline) && new String(Files.readAllBytes(cmdline), StandardCharsets.UTF_8).contains(daemon);
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    private void daemon(String name, List<String> args) throws IOException, InterruptedException {
        var argv = new ArrayList<String>();
        argv.add(name);
        argv.addAll(args);
        argv.add("--pidfile=" + runDir.resolve(name + ".pid"));
        if (!name.equals("ovn-controller")) {
            // ovn-controller names its own control socket ovn-controller.<pid>.ctl in OVN_RUNDIR
            argv.add("--unixctl=" + runDir.resolve(name + ".ctl"));
        }
        argv.addAll(List.of("--log-file=" + runDir.resolve(name + ".log"), "--detach", "--no-chdir", "-vconsole:off"));
        run(argv);
        log.info("event=daemon_started host={} daemon={}", host, name);
    }

    private String vsctl(String... args) throws IOException, InterruptedException {
        var argv = new ArrayList<>(List.of("ovs-vsctl", "--db=unix:" + runDir.resolve("db.sock"), "--timeout=20"));
        argv.addAll(List.of(args));
        return run(argv);
    }

    private String run(List<String> argv) throws IOException, InterruptedException {
        var pb = new ProcessBuilder(argv).redirectErrorStream(true);
        if (runDir != null) {
            String d = runDir.toString();
            pb.environment().putAll(Map.of("OVS_RUNDIR", d, "OVS_DBDIR", d, "OVS_LOGDIR", d, "OVN_RUNDIR", d, "OVN_DBDIR", d,
                    "OVN_LOGDIR", d));
        }
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(argv.get(0) + " did not finish within 60 s");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", argv) + " failed (exit " + p.exitValue() + "): " + text.strip());
        }
        return text;
    }
}
