package io.halcyon.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The agent of each simulated host, as the tests and benchmarks run it: its configuration (the
 * host's three NICs, its Open vSwitch on the userspace datapath, optionally its watchdog and a RAM
 * reservation that leaves room for a given number of guests) and the boot script that starts it.
 */
public final class LabAgents {
    private LabAgents() {
    }

    /**
     * @param guestSlots room for this many 128 MB guests (0: the whole machine)
     * @param watchdog   whether the agent pets the host's simulated hardware watchdog
     */
    public record Options(java.util.List<String> controllers, String agentToken, String ovnSouthbound, boolean watchdog, int guestSlots,
                          Path witness) {
        public Options(java.util.List<String> controllers, String agentToken, String ovnSouthbound, boolean watchdog, int guestSlots) {
            this(controllers, agentToken, ovnSouthbound, watchdog, guestSlots, null);
        }
    }

    public static Path ovsDir(Lab lab, String host) {
        return Path.of("/tmp", lab.prefix() + "-" + host + "-ovs");
    }

    /** Writes the host's agent.yaml (read at its next boot). */
    public static void configure(Lab lab, String h, Options o) {
        String mgmt = lab.managementIp(h);
        String yaml = "agent:\n"
                + "  name: " + h + "\n"
                + "  controllers: [\"" + String.join("\", \"", o.controllers()) + "\"]\n"
                + "  agentToken: " + o.agentToken() + "\n"
                + "  dataDir: " + lab.hostDir(h).resolve("agent") + "\n"
                + "  accel: tcg\n"
                + "  stopTimeout: 20s\n"
                + "  softRebootTimeout: 20s\n"
                + "  listen: {bind: \"" + mgmt + "\", port: 0}\n"
                + "  network:\n"
                + "    ovnSouthbound: \"" + o.ovnSouthbound() + "\"\n"
                + "    ovs: {datapath: netdev, runDir: \"" + ovsDir(lab, h) + "\"}\n"
                + "    interfaces:\n"
                + "      - {name: mgmt0, roles: [management, storage, migration], address: \"" + mgmt + "/24\", gateway: \""
                + lab.controllerIp() + "\"}\n"
                + "      - {name: tun0, roles: [tenant], address: \"" + lab.tunnelIp(h) + "/24\"}\n"
                + "      - {name: prov0, roles: [provider], physicalNetwork: provider}\n";
        if (o.watchdog()) {
            yaml += "  watchdog: {device: \"" + lab.watchdogDevice(h) + "\", timeout: " + lab.watchdogTimeoutSeconds() + "s}\n";
        }
        if (o.witness() != null) {
            yaml += "  witness: \"" + o.witness() + "\"\n";
        }
        try {
            if (o.guestSlots() > 0) {
                long memMb = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
                        .mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024).findFirst().orElseThrow();
                yaml += "  reservedRamMb: " + (memMb - 128L * o.guestSlots()) + "\n";
            }
            Files.writeString(lab.hostDir(h).resolve("agent.yaml"), yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * What the host's init runs (and runs again whenever it exits): its agent from {@code jar}, or
     * (false) nothing, so a killed agent stays dead as if its service manager had given up on it.
     */
    public static void boot(Lab lab, String h, Path jar, boolean agent) {
        Path config = lab.hostDir(h).resolve("agent.yaml");
        lab.boot(h, agent ? "#!/bin/bash\nexec java -Xmx192m -XX:+UseSerialGC -jar " + jar + " serve --config " + config
                + " >> " + lab.hostDir(h).resolve("agent.log") + " 2>&1\n" : "#!/bin/bash\nexec sleep infinity\n");
    }
}
