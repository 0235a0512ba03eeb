package io.halcyon.agent;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.halcyon.config.ConfigException;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/** The agent's configuration (the {@code agent:} section of the YAML file). */
public record AgentConfig(
        @JsonProperty("name") String name,
        @JsonProperty("controllers") List<String> controllers,
        @JsonProperty("agentToken") String agentToken,
        @JsonProperty("dataDir") Path dataDir,
        @JsonProperty("listen") Listen listen,
        @JsonProperty("advertiseUrl") String advertiseUrl,
        @JsonProperty("driver") String driver,
        @JsonProperty("accel") String accel,
        @JsonProperty("accelProbeTimeout") Duration accelProbeTimeout,
        @JsonProperty("qemuBinary") String qemuBinary,
        @JsonProperty("qemuImgBinary") String qemuImgBinary,
        @JsonProperty("machine") String machine,
        @JsonProperty("reservedRamMb") Integer reservedRamMb,
        @JsonProperty("reservedCpus") Integer reservedCpus,
        @JsonProperty("reservedDiskGb") Integer reservedDiskGb,
        @JsonProperty("stopTimeout") Duration stopTimeout,
        @JsonProperty("softRebootTimeout") Duration softRebootTimeout,
        @JsonProperty("pollWait") Duration pollWait,
        @JsonProperty("resyncInterval") Duration resyncInterval,
        @JsonProperty("network") io.halcyon.agent.net.HostNetworkConfig network,
        @JsonProperty("watchdog") Watchdog watchdog,
        @JsonProperty("witness") Path witness,
        @JsonProperty("tls") Tls tls) {

    public AgentConfig {
        name = name == null ? defaultHostName() : name;
        controllers = controllers == null ? List.of("http://127.0.0.1:8774") : List.copyOf(controllers);
        dataDir = dataDir == null ? Path.of(System.getProperty("user.home"), ".halcyon", "agent") : dataDir;
        listen = listen == null ? new Listen(null, null) : listen;
        driver = driver == null ? "qemu" : driver;
        accel = accel == null ? "auto" : accel;
        accelProbeTimeout = accelProbeTimeout == null ? Duration.ofSeconds(5) : accelProbeTimeout;
        qemuBinary = qemuBinary == null ? "qemu-system-x86_64" : qemuBinary;
        qemuImgBinary = qemuImgBinary == null ? "qemu-img" : qemuImgBinary;
        machine = machine == null ? "pc" : machine;
        reservedRamMb = reservedRamMb == null ? 512 : reservedRamMb;
        reservedCpus = reservedCpus == null ? 0 : reservedCpus;
        reservedDiskGb = reservedDiskGb == null ? 0 : reservedDiskGb;
        stopTimeout = stopTimeout == null ? Duration.ofSeconds(60) : stopTimeout;
        softRebootTimeout = softRebootTimeout == null ? Duration.ofSeconds(60) : softRebootTimeout;
        pollWait = pollWait == null ? Duration.ofSeconds(30) : pollWait;
        resyncInterval = resyncInterval == null ? Duration.ofSeconds(30) : resyncInterval;
        network = network == null ? io.halcyon.agent.net.HostNetworkConfig.none() : network;
        watchdog = watchdog == null ? new Watchdog(null, null) : watchdog;
    }

    public AgentConfig validate() {
        if (agentToken == null || agentToken.length() < 16) {
            throw new ConfigException("agent.agentToken must be set (at least 16 characters), the same as controller.agentToken");
        }
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9.\\-_]{0,62}")) {
            throw new ConfigException("agent.name '" + name + "' must be 1 to 63 letters, digits, '.', '-' or '_'");
        }
        if (controllers.isEmpty()) {
            throw new ConfigException("agent.controllers must list at least one controller URL");
        }
        for (String c : controllers) {
            if (!c.startsWith("http://") && !c.startsWith("https://")) {
                throw new ConfigException("agent.controllers: '" + c + "' is not an http(s) URL");
            }
        }
        if (!Set.of("qemu", "simulated").contains(driver)) {
            throw new ConfigException("agent.driver must be qemu or simulated, not " + driver);
        }
        if (!Set.of("auto", "kvm", "tcg").contains(accel)) {
            throw new ConfigException("agent.accel must be auto, kvm or tcg, not " + accel);
        }
        if (reservedRamMb < 0 || reservedCpus < 0 || reservedDiskGb < 0) {
            throw new ConfigException("agent.reserved* values must not be negative");
        }
        if (tls != null && (tls.certificate() == null) != (tls.key() == null)) {
            throw new ConfigException("agent.tls needs both certificate and key (PEM files), or neither");
        }
        if (watchdog.device() != null && (watchdog.timeout().compareTo(Duration.ofSeconds(1)) < 0
                || watchdog.timeout().compareTo(Duration.ofMinutes(10)) > 0)) {
            throw new ConfigException("agent.watchdog.timeout must be between 1s and 10m (it is the device's own timeout)");
        }
        return this;
    }

    /**
     * The host's watchdog: a device the agent pets while it may (for example {@code /dev/watchdog});
     * {@code timeout} is the device's own timeout, which the controller's fencing arithmetic uses.
     * No device: no watchdog, so the host can be fenced only through its BMC.
     */
    public record Watchdog(@JsonProperty("device") Path device, @JsonProperty("timeout") Duration timeout) {
        public Watchdog {
            timeout = timeout == null ? Duration.ofSeconds(10) : timeout;
        }
    }

    /**
     * HTTPS: the CA (PEM) the controllers' certificates must chain to (none: the system's CAs), and
     * the certificate and key (PEM) the console listener serves with (none: plain HTTP).
     */
    public record Tls(@JsonProperty("ca") Path ca, @JsonProperty("certificate") Path certificate, @JsonProperty("key") Path key) {
        public io.halcyon.http.Tls.ServerFiles files() {
            return certificate == null ? null : new io.halcyon.http.Tls.ServerFiles(certificate, key);
        }
    }

    public record Listen(@JsonProperty("bind") String bind, @JsonProperty("port") Integer port) {
        public Listen {
            bind = bind == null ? "127.0.0.1" : bind;
            port = port == null ? 0 : port;
        }
    }

    static String defaultHostName() {
        try {
            String h = java.net.InetAddress.getLocalHost().getHostName();
            int dot = h.indexOf('.');
            return dot > 0 ? h.substring(0, dot) : h;
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }
}
