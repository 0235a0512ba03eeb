package io.halcyon.agent;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.halcyon.config.ConfigException;
import io.halcyon.config.ConfigLoader;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AgentConfigTest {
    record Wrapper(@JsonProperty("agent") AgentConfig agent) {
    }

    static AgentConfig parse(String yaml) {
        return ConfigLoader.parse("test.yaml", "agent:\n" + yaml, Wrapper.class).agent();
    }

    @Test
    void defaults() {
        AgentConfig c = parse("  agentToken: 0123456789abcdef\n").validate();
        assertThat(c.name()).isEqualTo(AgentConfig.defaultHostName());
        assertThat(c.controllers()).containsExactly("http://127.0.0.1:8774");
        assertThat(c.dataDir()).isEqualTo(Path.of(System.getProperty("user.home"), ".halcyon", "agent"));
        assertThat(c.listen().bind()).isEqualTo("127.0.0.1");
        assertThat(c.listen().port()).isZero();
        assertThat(c.advertiseUrl()).isNull();
        assertThat(c.driver()).isEqualTo("qemu");
        assertThat(c.accel()).isEqualTo("auto");
        assertThat(c.accelProbeTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.qemuBinary()).isEqualTo("qemu-system-x86_64");
        assertThat(c.qemuImgBinary()).isEqualTo("qemu-img");
        assertThat(c.machine()).isEqualTo("pc");
        assertThat(c.reservedRamMb()).isEqualTo(512);
        assertThat(c.reservedCpus()).isZero();
        assertThat(c.reservedDiskGb()).isZero();
        assertThat(c.stopTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.softRebootTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.pollWait()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.resyncInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.watchdog()).isEqualTo(new AgentConfig.Watchdog(null, Duration.ofSeconds(10)));
        assertThat(c.tls()).isNull();
    }

    @Test
    void fullMapping() {
        AgentConfig c = parse("""
                  name: h1
                  controllers: ["http://10.0.0.1:8774", "http://10.0.0.2:8774"]
                  agentToken: 0123456789abcdef
                  dataDir: /var/lib/halcyon/agent
                  listen: {bind: 10.0.0.11, port: 8775}
                  advertiseUrl: "http://10.0.0.11:8775"
                  driver: simulated
                  accel: kvm
                  accelProbeTimeout: 2s
                  qemuBinary: /usr/bin/qemu-system-x86_64
                  qemuImgBinary: /usr/bin/qemu-img
                  machine: q35
                  reservedRamMb: 1024
                  reservedCpus: 1
                  reservedDiskGb: 20
                  stopTimeout: 30s
                  softRebootTimeout: 15s
                  pollWait: 10s
                  resyncInterval: 1m
                  watchdog: {device: /dev/watchdog0, timeout: 20s}
                  tls: {ca: /etc/halcyon/ca.pem, certificate: /etc/halcyon/h1.pem, key: /etc/halcyon/h1.key}
                """).validate();
        assertThat(c.name()).isEqualTo("h1");
        assertThat(c.controllers()).isEqualTo(List.of("http://10.0.0.1:8774", "http://10.0.0.2:8774"));
        assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/halcyon/agent"));
        assertThat(c.listen()).isEqualTo(new AgentConfig.Listen("10.0.0.11", 8775));
        assertThat(c.advertiseUrl()).isEqualTo("http://10.0.0.11:8775");
        assertThat(c.driver()).isEqualTo("simulated");
        assertThat(c.accel()).isEqualTo("kvm");
        assertThat(c.accelProbeTimeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.qemuBinary()).isEqualTo("/usr/bin/qemu-system-x86_64");
        assertThat(c.qemuImgBinary()).isEqualTo("/usr/bin/qemu-img");
        assertThat(c.machine()).isEqualTo("q35");
        assertThat(c.reservedRamMb()).isEqualTo(1024);
        assertThat(c.reservedCpus()).isEqualTo(1);
        assertThat(c.reservedDiskGb()).isEqualTo(20);
        assertThat(c.stopTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.softRebootTimeout()).isEqualTo(Duration.ofSeconds(15));
        assertThat(c.pollWait()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.resyncInterval()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.watchdog()).isEqualTo(new AgentConfig.Watchdog(Path.of("/dev/watchdog0"), Duration.ofSeconds(20)));
        assertThat(c.tls()).isEqualTo(new AgentConfig.Tls(Path.of("/etc/halcyon/ca.pem"), Path.of("/etc/halcyon/h1.pem"),
                Path.of("/etc/halcyon/h1.key")));
    }

    @Test
    void invalidValuesAreRefusedWithTheKeyNamed() {
        assertThatThrownBy(() -> parse("  name: h1\n").validate()).isInstanceOf(ConfigException.class).hasMessageContaining("agent.agentToken");
        assertThatThrownBy(() -> parse("  agentToken: 0123456789abcdef\n  accel: fast\n").validate()).hasMessageContaining("agent.accel");
        assertThatThrownBy(() -> parse("  agentToken: 0123456789abcdef\n  name: 'bad name'\n").validate()).hasMessageContaining("agent.name");
        assertThatThrownBy(() -> parse("  agentToken: 0123456789abcdef\n  controllers: [ftp://x]\n").validate()).hasMessageContaining("agent.controllers");
        assertThatThrownBy(() -> parse("  agentToken: 0123456789abcdef\n  reservedRamMb: -1\n").validate()).hasMessageContaining("agent.reserved");
        assertThatThrownBy(() -> parse("  agnetToken: x\n")).hasMessageContaining("unknown key 'agent.agnetToken'");
        assertThatThrownBy(() -> parse("  agentToken: 0123456789abcdef\n  watchdog: {device: /dev/watchdog, timeout: 500ms}\n").validate())
                .hasMessageContaining("agent.watchdog.timeout");
        assertThatThrownBy(() -> parse("  agentToken: 0123456789abcdef\n  tls: {certificate: /a.pem}\n").validate())
                .hasMessageContaining("agent.tls");
    }
}
