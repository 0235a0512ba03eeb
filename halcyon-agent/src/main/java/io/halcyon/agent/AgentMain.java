package io.halcyon.agent;

import io.halcyon.agent.net.HostNetwork;
import io.halcyon.agent.driver.GuestDriver;
import io.halcyon.agent.qemu.AccelProbe;
import io.halcyon.agent.qemu.QemuDriver;
import io.halcyon.agent.sim.SimulatedDriver;
import io.halcyon.model.agent.HostRegistration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.http.HttpClient;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Builds and runs one agent; the only place that wires the agent's object graph. */
public final class AgentMain implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentMain.class);
    public static final String VERSION = "0.1.0";

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Agent agent;
    private final GuestDriver driver;
    private HostNetwork network;

    private AgentMain(AgentConfig config, HttpClient http) throws Exception {
        config.validate();
        io.halcyon.config.PrivateDirs.ensure(config.dataDir());
        var controller = new ControllerClient(config.controllers(), config.agentToken(), http);
        HostInfo info;
        String accel;
        if ("simulated".equals(config.driver())) {
            driver = new SimulatedDriver();
            info = new HostInfo(32, 262_144, 4096, "x86_64", "simulated", "7.2.0");
            accel = "tcg";
        } else {
            info = HostInfo.probe(config.dataDir(), config.qemuBinary());
            accel = AccelProbe.decide(config.accel(), config.qemuBinary(), config.dataDir(), config.accelProbeTimeout());
            // a wrong host network is refused here, naming the field, before anything changes on the host
            config.network().validate(nic -> java.nio.file.Files.exists(java.nio.file.Path.of("/sys/class/net", nic)));
            network = new HostNetwork(config.name(), config.network(), config.dataDir().resolve("ovs"));
            network.start();
            driver = new QemuDriver(new QemuDriver.Settings(config.qemuBinary(), config.qemuImgBinary(), accel, config.machine(),
                    config.dataDir().resolve("guests"))).withNetwork(network);
        }
        var console = new ConsoleServer(config.listen().bind(), config.listen().port(), driver, config.agentToken(),
                config.tls() == null ? null : config.tls().files());
        closeables.add(console);
        String endpoint = config.advertiseUrl() != null ? config.advertiseUrl()
                : (console.secure() ? "https://" : "http://") + config.listen().bind() + ":" + console.port();
        var registration = new HostRegistration(config.name(), info.cpus(), info.ramMb(), info.diskGb(), config.reservedCpus(),
                config.reservedRamMb(), config.reservedDiskGb(), accel, info.arch(), info.cpuModel(), info.qemuVersion(), endpoint,
                VERSION, UUID.randomUUID().toString(), config.watchdog().device() == null ? 0 : config.watchdog().timeout().toMillis());
        var images = new ImageCache(controller, config.dataDir().resolve("images"), config.qemuImgBinary());
        agent = new Agent(new Agent.Settings(config.name(), config.pollWait(), config.stopTimeout(), config.softRebootTimeout(),
                config.resyncInterval(), config.watchdog().device(), config.watchdog().timeout(), config.witness()), controller, driver, images,
                registration);
        closeables.add(0, agent);
        agent.start();
        log.info("event=agent_ready host={} accel={} cpus={} ram_mb={} endpoint={}", config.name(), accel, info.cpus(), info.ramMb(), endpoint);
    }

    public static AgentMain start(AgentConfig config) throws Exception {
        return new AgentMain(config, ControllerClient.http(config.tls() == null ? null : config.tls().ca()));
    }

    public static AgentMain start(AgentConfig config, HttpClient http) throws Exception {
        return new AgentMain(config, http);
    }

    /** The host's network side (null with the simulated driver). */
    public HostNetwork network() {
        return network;
    }

    public GuestDriver driver() {
        return driver;
    }

    @Override
    public void close() {
        io.halcyon.config.Closer.closeAll(closeables, log);
    }
}
