package io.halcyon.agent.qemu;

import io.halcyon.model.agent.DiskSpec;
import io.halcyon.model.agent.NicSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * The QEMU command line of a guest, as a pure function of its spec (golden-tested). QEMU runs
 * daemonized in its own session, so it outlives the agent; {@code -no-shutdown} keeps the process
 * when the guest powers off, so the agent can tell a guest shutdown from a crash and reboot in place.
 * Volumes get the same node names and device ids on the command line as when hot-plugged, so the
 * agent recognises them either way.
 */
public final class QemuCommand {
    private QemuCommand() {
    }

    public record Spec(String serverId, String instanceName, int vcpus, int ramMb, String accel, String machine, String qemuBinary,
                       DiskSpec root, List<DiskSpec> volumes, Path configDrive, Path console, Path qmp, Path pidFile,
                       List<NicSpec> nics, String watchdogAction, int serialPorts) {
        public Spec {
            serialPorts = Math.max(1, Math.min(4, serialPorts));
            nics = nics == null ? List.of() : List.copyOf(nics);
            requireNonNull(serverId, "serverId is null");
            requireNonNull(instanceName, "instanceName is null");
            requireNonNull(accel, "accel is null");
            requireNonNull(root, "root is null");
            volumes = volumes == null ? List.of() : List.copyOf(volumes);
        }

        public Spec(String serverId, String instanceName, int vcpus, int ramMb, String accel, String machine, String qemuBinary,
                    DiskSpec root, List<DiskSpec> volumes, Path configDrive, Path console, Path qmp, Path pidFile, List<NicSpec> nics) {
            this(serverId, instanceName, vcpus, ramMb, accel, machine, qemuBinary, root, volumes, configDrive, console, qmp, pidFile, nics,
                    null, 1);
        }
    }

    /** The guest's serial ports from Nova's {@code hw:serial_port_count} (1 to 4; anything else: the console only). */
    public static int serialPorts(String count) {
        return count != null && count.matches("[1-4]") ? Integer.parseInt(count) : 1;
    }

    /** Where serial port {@code n} (1 and up; 0 is the console) of a guest is logged. */
    public static Path serialLog(Path guestDir, int n) {
        return guestDir.resolve("serial-" + n + ".log");
    }

    /**
     * QEMU's action for the guest's i6300esb watchdog from Nova's {@code hw:watchdog_action}; null
     * for no device. An HA guest's "reset" pauses instead, so the agent restarts it in place within
     * its restart budget rather than QEMU resetting it forever.
     */
    public static String watchdogAction(String novaAction, boolean ha) {
        if (novaAction == null || novaAction.equals("disabled")) {
            return null;
        }
        return switch (novaAction) {
            case "reset" -> ha ? "pause" : "reset";
            case "poweroff", "pause", "none" -> novaAction;
            default -> null;
        };
    }

    /** QEMU node names hold at most 31 characters: a letter and the volume id's first 29 hex digits. */
    public static String formatNode(String volumeId) {
        return "v" + hex(volumeId);
    }

    public static String fileNode(String volumeId) {
        return "f" + hex(volumeId);
    }

    public static final String DEVICE_PREFIX = "vol-";
    public static final String NIC_PREFIX = "nic-";

    public static String nicDevice(String portId) {
        return NIC_PREFIX + portId;
    }

    public static String netdevId(String portId) {
        return "hostnet-" + portId;
    }

    /** The tap netdev of a NIC: no vnet header, or the guest hands the userspace datapath half-checksummed frames. */
    static String netdev(NicSpec n) {
        return "tap,id=" + netdevId(n.portId()) + ",ifname=" + n.tap() + ",script=no,downscript=no,vnet_hdr=off";
    }

    static String nicDevice(NicSpec n) {
        return "virtio-net-pci,netdev=" + netdevId(n.portId()) + ",mac=" + n.macAddress() + ",id=" + nicDevice(n.portId());
    }

    public static String deviceId(String volumeId) {
        return DEVICE_PREFIX + volumeId;
    }

    private static String hex(String id) {
        String h = id.replace("-", "").toLowerCase();
        return h.length() > 29 ? h.substring(0, 29) : h;
    }

    /**
     * The protocol node of a disk: a file, or an RBD image that QEMU opens with its own librbd
     * (never a kernel mapping). This is the one place agents know how storage is reached.
     */
    static String fileBlockdev(DiskSpec d, String node) {
        if (d.rbd()) {
            var c = io.halcyon.storage.Rbd.forDisk(d, 0);
            return "{\"driver\":\"rbd\",\"pool\":\"" + json(c.pool()) + "\",\"image\":\"" + json(d.rbdImage())
                    + "\",\"conf\":\"" + json(c.conf().toString()) + "\",\"user\":\"" + json(c.user())
                    + "\",\"node-name\":\"" + node + "\"" + (d.readOnly() ? ",\"read-only\":true" : ",\"discard\":\"unmap\"") + "}";
        }
        if (!"file".equals(d.driver())) {
            throw new IllegalArgumentException("disk driver " + d.driver() + " is not supported by this agent");
        }
        // locking on, not auto: the image's lock is the guest's lease (DiskLease), so storage without it is refused
        return "{\"driver\":\"file\",\"filename\":\"" + json(d.path()) + "\",\"node-name\":\"" + node + "\""
                + (d.readOnly() ? ",\"read-only\":true" : ",\"discard\":\"unmap\",\"locking\":\"on\"") + "}";
    }

    static String formatBlockdev(DiskSpec d, String node, String fileNode) {
        return "{\"driver\":\"" + d.format() + "\",\"node-name\":\"" + node + "\",\"file\":\"" + fileNode + "\""
                + (d.readOnly() ? ",\"read-only\":true" : ",\"discard\":\"unmap\"") + "}";
    }

    public static List<String> argv(Spec s) {
        var a = new ArrayList<String>();
        a.add(s.qemuBinary());
        a.addAll(List.of("-name", "guest=" + s.instanceName() + ",debug-threads=on"));
        a.addAll(List.of("-uuid", s.serverId()));
        a.addAll(List.of("-machine", s.machine()));
        a.addAll(List.of("-accel", s.accel()));
        a.addAll(List.of("-cpu", "kvm".equals(s.accel()) ? "host" : "max"));
        a.addAll(List.of("-m", s.ramMb() + "M"));
        a.addAll(List.of("-smp", Integer.toString(s.vcpus())));
        a.addAll(List.of("-nodefaults", "-no-user-config", "-display", "none", "-no-shutdown"));
        a.addAll(List.of("-rtc", "base=utc"));
        a.addAll(List.of("-boot", "strict=on"));
        a.addAll(List.of("-blockdev", fileBlockdev(s.root(), "root-file")));
        a.addAll(List.of("-blockdev", formatBlockdev(s.root(), "root", "root-file")));
        a.addAll(List.of("-device", "virtio-blk-pci,drive=root,id=virtio-disk0,bootindex=1"
                + (s.root().serial() == null ? "" : ",serial=" + s.root().serial())));
        for (DiskSpec v : s.volumes()) {
            a.addAll(List.of("-blockdev", fileBlockdev(v, fileNode(v.volumeId()))));
            a.addAll(List.of("-blockdev", formatBlockdev(v, formatNode(v.volumeId()), fileNode(v.volumeId()))));
            a.addAll(List.of("-device", "virtio-blk-pci,drive=" + formatNode(v.volumeId()) + ",id=" + deviceId(v.volumeId())
                    + ",serial=" + v.serial()));
        }
        if (s.configDrive() != null) {
            a.addAll(List.of("-blockdev", "{\"driver\":\"file\",\"filename\":\"" + json(s.configDrive().toString()) + "\",\"node-name\":\"config-file\","
                    + "\"read-only\":true}"));
            a.addAll(List.of("-blockdev", "{\"driver\":\"raw\",\"node-name\":\"config\",\"file\":\"config-file\",\"read-only\":true}"));
            a.addAll(List.of("-device", "virtio-blk-pci,drive=config,id=virtio-disk1"));
        }
        for (NicSpec n : s.nics()) {
            a.addAll(List.of("-netdev", netdev(n)));
            a.addAll(List.of("-device", nicDevice(n)));
        }
        if (s.watchdogAction() != null) {
            a.addAll(List.of("-device", "i6300esb,id=watchdog0"));
            a.addAll(List.of("-action", "watchdog=" + s.watchdogAction()));
        }
        a.addAll(List.of("-chardev", "file,id=serial0,path=" + s.console() + ",append=on"));
        a.addAll(List.of("-serial", "chardev:serial0"));
        for (int n = 1; n < s.serialPorts(); n++) {
            a.addAll(List.of("-chardev", "file,id=serial" + n + ",path=" + serialLog(s.console().getParent(), n) + ",append=on"));
            a.addAll(List.of("-serial", "chardev:serial" + n));
        }
        a.addAll(List.of("-qmp", "unix:" + s.qmp() + ",server=on,wait=off"));
        a.addAll(List.of("-pidfile", s.pidFile().toString()));
        a.add("-daemonize");
        return a;
    }

    private static String json(String p) {
        return p.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
