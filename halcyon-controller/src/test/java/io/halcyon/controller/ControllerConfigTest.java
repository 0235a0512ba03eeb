package io.halcyon.controller;

import io.halcyon.config.ConfigException;
import io.halcyon.config.ConfigLoader;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ControllerConfigTest {
    record Wrapper(ControllerConfig controller) {
    }

    static ControllerConfig parse(String yaml) {
        return ConfigLoader.parse("test.yaml", "controller:\n" + yaml, Wrapper.class).controller();
    }

    @Test
    void defaults() {
        ControllerConfig c = parse("  adminPassword: secretsecret\n  agentToken: 0123456789abcdef\n").validate();
        assertThat(c.dataDir()).isEqualTo(Path.of(System.getProperty("user.home"), ".halcyon", "data"));
        assertThat(c.api().bind()).isEqualTo("127.0.0.1");
        assertThat(c.api().port()).isEqualTo(8774);
        assertThat(c.api().publicUrl()).isNull();
        assertThat(c.api().maxBodyBytes()).isEqualTo(114_688);
        assertThat(c.api().threads()).isEqualTo(200);
        assertThat(c.api().listenerLimits()).isEqualTo(io.halcyon.http.Limits.publicApi(200));
        assertThat(c.api().trustedProxies()).isEmpty();
        assertThat(c.agentApi()).isEqualTo(new ControllerConfig.AgentApi("127.0.0.1", 8775, 32));
        assertThat(c.tls()).isNull();
        assertThat(c.login().settings()).isEqualTo(io.halcyon.api.auth.LoginGuard.Settings.defaults());
        assertThat(c.store().backend()).isEqualTo("sqlite");
        assertThat(c.storePath()).isEqualTo(c.dataDir().resolve("halcyon.db"));
        assertThat(c.secretKey()).isEqualTo(c.dataDir().resolve("secret.key"));
        assertThat(c.store().timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.region()).isEqualTo("RegionOne");
        assertThat(c.tokenLifetime()).isEqualTo(Duration.ofHours(1));
        assertThat(c.leaderTtl()).isEqualTo(Duration.ofSeconds(4));
        assertThat(c.hostLeaseTtl()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.hostRenewInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.ha()).isEqualTo(new ControllerConfig.Ha(Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofSeconds(2), 0.5,
                Duration.ofMinutes(10), Duration.ofSeconds(2), 3, 3, Duration.ofMinutes(10), false, 0, null, "ipmitool", Duration.ofMillis(100), null));
        assertThat(c.haSettings()).isEqualTo(io.halcyon.ha.HaSettings.defaults());
        assertThat(c.maxImageBytes()).isEqualTo(1L << 40);
        assertThat(c.scheduler().cpuAllocationRatio()).isEqualTo(16.0);
        assertThat(c.scheduler().ramAllocationRatio()).isEqualTo(1.0);
        assertThat(c.scheduler().diskAllocationRatio()).isEqualTo(1.0);
        assertThat(c.scheduler().hostSubsetSize()).isEqualTo(2);
        assertThat(c.quotas().instances()).isEqualTo(10);
        assertThat(c.quotas().cores()).isEqualTo(20);
        assertThat(c.quotas().ram()).isEqualTo(51200);
        assertThat(c.quotas().volumes()).isEqualTo(10);
        assertThat(c.quotas().gigabytes()).isEqualTo(1000);
        assertThat(c.quotas().snapshots()).isEqualTo(10);
        assertThat(c.storage().backends()).containsExactly(new ControllerConfig.Backend("file", "file", null, 20.0, 0.0));
        assertThat(c.storagePath(c.storage().backends().get(0))).isEqualTo(c.dataDir().resolve("storage/file"));
        assertThat(c.storage().volumeTypes()).containsExactly(new ControllerConfig.VolumeTypeSeed("default", "file", "Default volume type"));
        assertThat(c.storage().defaultVolumeType()).isEqualTo("default");
        assertThat(c.storage().rootDiskBackend()).isNull();
        assertThat(c.storage().qemuImgBinary()).isEqualTo("qemu-img");
        assertThat(c.bootstrap().flavors()).isEmpty();
        assertThat(c.bootstrap().images()).isEmpty();
        assertThat(c.backup()).isEqualTo(new ControllerConfig.Backup(true, null, null, 4 << 20, 1,
                Math.max(1, Runtime.getRuntime().availableProcessors()), Duration.ofHours(1), Duration.ofMinutes(5), "qemu-nbd"));
        assertThat(c.backupRepository()).isEqualTo(c.dataDir().resolve("storage/backups"));
    }

    @Test
    void fullMapping() {
        ControllerConfig c = parse("""
                  dataDir: /srv/halcyon
                  api: {bind: 0.0.0.0, port: 9000, publicUrl: "https://cloud.example", maxBodyBytes: 1000, threads: 16,
                        limits: {maxConnections: 100, perClient: 5, headerTimeout: 3s, idleTimeout: 20s, bodyTimeout: 4s, minBodyRate: 2048,
                                 maxActive: 8, maxQueued: 50, queueTimeout: 2s},
                        trustedProxies: ["10.0.0.11"]}
                  agentApi: {bind: 10.0.0.11, port: 9001, threads: 8}
                  tls: {certificate: /etc/halcyon/c.pem, key: /etc/halcyon/c.key, ca: /etc/halcyon/ca.pem}
                  login: {threads: 3, queue: 10, perClient: 2, throttleFailures: 7, throttleWindow: 1m, lockoutFailureAttempts: 4,
                          lockoutDuration: 30m, lockoutExempt: [root], refusalDelay: 2s}
                  store: {backend: etcd, path: /x.db, etcdEndpoints: ["http://10.0.0.1:2379"], timeout: 3s}
                  region: West
                  adminPassword: secretsecret
                  agentToken: 0123456789abcdef
                  secretKeyFile: /etc/halcyon/secret.key
                  tokenLifetime: 2h
                  leaderTtl: 7s
                  hostLeaseTtl: 20s
                  hostRenewInterval: 5s
                  maxImageBytes: 1000000
                  scheduler: {cpuAllocationRatio: 4.0, ramAllocationRatio: 1.5, diskAllocationRatio: 2.0, hostSubsetSize: 3}
                  quotas: {instances: 1, cores: 2, ram: 3, volumes: 4, gigabytes: 5, snapshots: 6}
                  storage:
                    backends: [{name: nfs, type: file, path: /mnt/nfs, overSubscriptionRatio: 4.0, reservedPercent: 5}]
                    volumeTypes: [{name: gold, backend: nfs, description: fast}]
                    defaultVolumeType: gold
                    rootDiskBackend: nfs
                    qemuImgBinary: /usr/bin/qemu-img
                  bootstrap:
                    flavors: [{id: "9", name: f, vcpus: 2, ramMb: 512, diskGb: 5}]
                    images: [{name: i, file: /img.qcow2, diskFormat: qcow2}]
                  ha: {suspectAfter: 8s, selfFenceTimeout: 15s, fenceMargin: 3s, brakeShare: 0.6, bmcRetryInterval: 5s, bmcAttempts: 2,
                       restartLimit: 5, restartWindow: 30m, enabledByDefault: true, defaultPriority: 3,
                       credentialKeyFile: /etc/halcyon/secret.key, ipmitool: /usr/bin/ipmitool, tickInterval: 250ms}
                  backup: {enabled: false, repository: /mnt/backups, keyFile: /etc/halcyon/backup.key, chunkSize: 1048576, zstdLevel: 3,
                           threads: 4, gcInterval: 2h, gcGrace: 10m, qemuNbdBinary: /usr/bin/qemu-nbd}
                """).validate();
        assertThat(c.dataDir()).isEqualTo(Path.of("/srv/halcyon"));
        assertThat(c.api().bind()).isEqualTo("0.0.0.0");
        assertThat(c.api().publicUrl()).isEqualTo("https://cloud.example");
        assertThat(c.api().maxBodyBytes()).isEqualTo(1000);
        assertThat(c.api().listenerLimits()).isEqualTo(new io.halcyon.http.Limits(16, 100, 5, Duration.ofSeconds(3), Duration.ofSeconds(20),
                Duration.ofSeconds(4), 2048, 8, 50, Duration.ofSeconds(2)));
        assertThat(c.api().trustedProxies()).containsExactly("10.0.0.11");
        assertThat(c.agentApi()).isEqualTo(new ControllerConfig.AgentApi("10.0.0.11", 9001, 8));
        assertThat(c.tls()).isEqualTo(new ControllerConfig.Tls(Path.of("/etc/halcyon/c.pem"), Path.of("/etc/halcyon/c.key"),
                Path.of("/etc/halcyon/ca.pem")));
        assertThat(c.login().settings()).isEqualTo(new io.halcyon.api.auth.LoginGuard.Settings(3, 10, 2, 7, Duration.ofMinutes(1), 4,
                Duration.ofMinutes(30), java.util.Set.of("root"), Duration.ofSeconds(2)));
        assertThat(c.store()).isEqualTo(new ControllerConfig.StoreConfig("etcd", Path.of("/x.db"), List.of("http://10.0.0.1:2379"), Duration.ofSeconds(3)));
        assertThat(c.region()).isEqualTo("West");
        assertThat(c.secretKey()).isEqualTo(Path.of("/etc/halcyon/secret.key"));
        assertThat(c.tokenLifetime()).isEqualTo(Duration.ofHours(2));
        assertThat(c.leaderTtl()).isEqualTo(Duration.ofSeconds(7));
        assertThat(c.hostLeaseTtl()).isEqualTo(Duration.ofSeconds(20));
        assertThat(c.hostRenewInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.maxImageBytes()).isEqualTo(1_000_000L);
        assertThat(c.scheduler()).isEqualTo(new ControllerConfig.Scheduler(4.0, 1.5, 2.0, 3));
        assertThat(c.quotas()).isEqualTo(new ControllerConfig.Quotas(1, 2, 3, 4, 5, 6));
        assertThat(c.storage()).isEqualTo(new ControllerConfig.Storage(
                List.of(new ControllerConfig.Backend("nfs", "file", Path.of("/mnt/nfs"), 4.0, 5.0)),
                List.of(new ControllerConfig.VolumeTypeSeed("gold", "nfs", "fast")), "gold", "nfs", "/usr/bin/qemu-img"));
        assertThat(c.storagePath(c.storage().backends().get(0))).isEqualTo(Path.of("/mnt/nfs"));
        assertThat(c.bootstrap().flavors()).containsExactly(new ControllerConfig.FlavorSeed("9", "f", 2, 512, 5));
        assertThat(c.bootstrap().images()).containsExactly(new ControllerConfig.ImageSeed("i", Path.of("/img.qcow2"), "qcow2"));
        assertThat(c.storePath()).isEqualTo(Path.of("/x.db"));
        assertThat(c.ha()).isEqualTo(new ControllerConfig.Ha(Duration.ofSeconds(8), Duration.ofSeconds(15), Duration.ofSeconds(3), 0.6,
                Duration.ofMinutes(10), Duration.ofSeconds(5), 2, 5, Duration.ofMinutes(30), true, 3, Path.of("/etc/halcyon/secret.key"), "/usr/bin/ipmitool",
                Duration.ofMillis(250), null));
        assertThat(c.haSettings().leaseTtl()).isEqualTo(Duration.ofSeconds(20));
        assertThat(c.haSettings().defaultPolicy()).isEqualTo(new io.halcyon.ha.HaPolicy(true, 3));
        assertThat(c.backup()).isEqualTo(new ControllerConfig.Backup(false, Path.of("/mnt/backups"), Path.of("/etc/halcyon/backup.key"),
                1 << 20, 3, 4, Duration.ofHours(2), Duration.ofMinutes(10), "/usr/bin/qemu-nbd"));
        assertThat(c.backupRepository()).isEqualTo(Path.of("/mnt/backups"));
    }

    @Test
    void invalidCombinationsAreRefusedWithTheKeyNamed() {
        String secrets = "  adminPassword: secretsecret\n  agentToken: 0123456789abcdef\n";
        assertThatThrownBy(() -> parse("  agentToken: 0123456789abcdef\n").validate()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("controller.adminPassword");
        assertThatThrownBy(() -> parse(secrets + "  hostLeaseTtl: 4s\n  hostRenewInterval: 3s\n").validate())
                .hasMessageContaining("controller.hostRenewInterval");
        assertThatThrownBy(() -> parse(secrets + "  ha: {selfFenceTimeout: 6s}\n").validate())
                .hasMessageContaining("controller.ha.selfFenceTimeout").hasMessageContaining("less than controller.hostLeaseTtl");
        assertThatThrownBy(() -> parse(secrets + "  ha: {fenceMargin: 100ms}\n").validate()).hasMessageContaining("controller.ha.fenceMargin");
        assertThatThrownBy(() -> parse(secrets + "  ha: {tickInterval: 5s}\n").validate()).hasMessageContaining("controller.ha.tickInterval");
        assertThatThrownBy(() -> parse(secrets + "  store: {backend: mysql}\n").validate()).hasMessageContaining("controller.store.backend");
        assertThatThrownBy(() -> parse(secrets + "  backup: {chunkSize: 3000000}\n").validate()).hasMessageContaining("controller.backup.chunkSize");
        assertThatThrownBy(() -> parse(secrets + "  backup: {zstdLevel: 40}\n").validate()).hasMessageContaining("controller.backup.zstdLevel");
        assertThatThrownBy(() -> parse(secrets + "  backup: {threads: 0}\n").validate()).hasMessageContaining("controller.backup.threads");
        assertThatThrownBy(() -> parse(secrets + "  backup: {repository: /srv/x/storage/file}\n  dataDir: /srv/x\n").validate())
                .hasMessageContaining("cannot be the directory of storage backend file");
        assertThatThrownBy(() -> parse(secrets + "  store: {backend: etcd}\n").validate()).hasMessageContaining("etcdEndpoints");
        assertThatThrownBy(() -> parse(secrets + "  store: {backend: etcd, etcdEndpoints: [\"http://e:2379\"]}\n").validate())
                .hasMessageContaining("controller.secretKeyFile must be set with the etcd store");
        assertThatThrownBy(() -> parse(secrets + "  secretKeyFile: /a.key\n  ha: {credentialKeyFile: /b.key}\n").validate())
                .hasMessageContaining("name different files");
        assertThat(parse(secrets + "  ha: {credentialKeyFile: /b.key}\n").validate().secretKey()).as("an older configuration's key")
                .isEqualTo(java.nio.file.Path.of("/b.key"));
        assertThatThrownBy(() -> parse(secrets + "  apii: {}\n")).hasMessageContaining("unknown key 'controller.apii'");
        assertThatThrownBy(() -> parse(secrets + "  agentApi: {port: 8774}\n").validate()).hasMessageContaining("controller.agentApi.port");
        assertThatThrownBy(() -> parse(secrets + "  tls: {certificate: /a.pem}\n").validate()).hasMessageContaining("controller.tls");
        assertThatThrownBy(() -> parse(secrets + "  login: {threads: 0}\n").validate()).hasMessageContaining("controller.login");
        assertThatThrownBy(() -> parse(secrets + "  api: {limits: {perClient: 0}}\n").validate()).hasMessageContaining("controller.api.limits");
        assertThatThrownBy(() -> parse(secrets + "  storage: {volumeTypes: [{name: x, backend: nope}]}\n").validate())
                .hasMessageContaining("controller.storage.volumeTypes");
        assertThatThrownBy(() -> parse(secrets + "  storage: {backends: [{name: b, type: iscsi}]}\n").validate())
                .hasMessageContaining("controller.storage.backends.b.type must be file or rbd");
        assertThatThrownBy(() -> parse(secrets + "  storage: {backends: [{name: b, type: rbd, pool: \"a/b\"}]}\n").validate())
                .hasMessageContaining("controller.storage.backends.b.pool");
        assertThatThrownBy(() -> parse(secrets + "  storage: {backends: [{name: b, type: rbd, cephConf: \"/etc/ceph/a,b.conf\"}]}\n").validate())
                .hasMessageContaining("controller.storage.backends.b.cephConf");
        assertThatThrownBy(() -> parse(secrets + "  storage: {backends: [{name: b, type: rbd, capacityGb: -1}]}\n").validate())
                .hasMessageContaining("controller.storage.backends.b.capacityGb");
        var rbd = parse(secrets + "  storage: {backends: [{name: ceph, type: rbd}]}\n");
        rbd.validate();
        assertThat(rbd.storage().backends().get(0).cephConf()).isEqualTo(java.nio.file.Path.of("/etc/ceph/ceph.conf"));
        assertThat(rbd.storage().backends().get(0).pool()).isEqualTo("rbd");
    }
}
