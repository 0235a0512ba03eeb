package io.halcyon.agent.qemu;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * The QEMU command line of a guest, as a pure function of its spec (golden-tested). QEMU runs
 * daemonized in its own session, so it outlives the agent; {@code -no-shutdown} keeps the process
 * when the guest powers off, so the agent can tell a guest shutdown from a crash and reboot in place.
 */
public final class QemuCommand {
    private QemuCommand() {
    }

    public record Spec(String serverId, String instanceName, int vcpus, int ramMb, String accel, String machine, String qemuBinary,
                       Path disk, Path configDrive, Path console, Path qmp, Path pidFile) {
        public Spec {
            requireNonNull(serverId, "serverId is null");
            requireNonNull(instanceName, "instanceName is null");
            requireNonNull(accel, "accel is null");
            requireNonNull(disk, "disk is null");
        }
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
        a.addAll(List.of("-blockdev", "{\"driver\":\"file\",\"filename\":\"" + json(s.disk()) + "\",\"node-name\":\"root-file\","
                + "\"discard\":\"unmap\"}"));
        a.addAll(List.of("-blockdev", "{\"driver\":\"qcow2\",\"node-name\":\"root\",\"file\":\"root-file\",\"discard\":\"unmap\"}"));
        a.addAll(List.of("-device", "virtio-blk-pci,drive=root,id=virtio-disk0,bootindex=1"));
        if (s.configDrive() != null) {
            a.addAll(List.of("-blockdev", "{\"driver\":\"file\",\"filename\":\"" + json(s.configDrive()) + "\",\"node-name\":\"config-file\","
                    + "\"read-only\":true}"));
            a.addAll(List.of("-blockdev", "{\"driver\":\"raw\",\"node-name\":\"config\",\"file\":\"config-file\",\"read-only\":true}"));
            a.addAll(List.of("-device", "virtio-blk-pci,drive=config,id=virtio-disk1"));
        }
        a.addAll(List.of("-chardev", "file,id=serial0,path=" + s.console() + ",append=on"));
        a.addAll(List.of("-serial", "chardev:serial0"));
        a.addAll(List.of("-qmp", "unix:" + s.qmp() + ",server=on,wait=off"));
        a.addAll(List.of("-pidfile", s.pidFile().toString()));
        a.add("-daemonize");
        return a;
    }

    private static String json(Path p) {
        return p.toString().replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
