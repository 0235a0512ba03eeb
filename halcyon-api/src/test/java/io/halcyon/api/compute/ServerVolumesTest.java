package io.halcyon.api.compute;

import io.halcyon.model.compute.BlockDevice;
import io.halcyon.model.compute.FlavorSnapshot;
import io.halcyon.model.compute.PowerIntent;
import io.halcyon.model.compute.RebootType;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerSpec;
import io.halcyon.model.compute.ServerStatus;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeAttachment;
import io.halcyon.model.volume.VolumeSource;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.ManualClock;
import io.halcyon.runtime.Resources;
import io.halcyon.store.Txn;
import io.halcyon.store.sqlite.SqliteStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** How agent reports move a server's volumes, over a real sqlite store. */
class ServerVolumesTest {
    @TempDir
    Path dir;
    SqliteStore store;
    Resources res;
    ServerVolumes volumes;
    final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));

    @BeforeEach
    void open() {
        store = SqliteStore.open(dir.resolve("s.db"), 0);
        res = new Resources(store, clock, Duration.ofSeconds(5));
        res.start();
        volumes = new ServerVolumes(res);
    }

    @AfterEach
    void close() {
        res.close();
        store.close();
    }

    Volume volume(String id, VolumeStatus status, String serverId) {
        var att = serverId == null ? List.<VolumeAttachment>of() : List.of(new VolumeAttachment("att-" + id, serverId, "/dev/vdb", clock.now()));
        var v = new Volume(id, "p", "u", id, null, 1, "default", "file", status, new VolumeSource(VolumeSource.Kind.BLANK, null), Map.of(),
                false, att, Map.of(), null, null, null, false, clock.now(), clock.now());
        res.repo(Kinds.VOLUMES).create(v);
        return v;
    }

    Server server(List<BlockDevice> devices) {
        var spec = new ServerSpec("vm", null, new FlavorSnapshot("f", "f", 1, 128, 1, 0, 0, Map.of()), "img", Map.of(), null, false, null,
                "nova", null, null, PowerIntent.ON, 0, RebootType.SOFT, false, devices);
        var s = new Server("s1", "p", "u", clock.now(), spec, ServerStatus.building(clock.now()));
        res.repo(Kinds.SERVERS).create(s);
        return s;
    }

    static BlockDevice device(String volumeId, boolean deleteOnTermination) {
        return new BlockDevice(volumeId, "att-" + volumeId, "/dev/vdb", null, deleteOnTermination);
    }

    ServerVolumes.Sync report(Server s, Set<String> reported, Map<String, String> faults) {
        res.sync();
        var txn = Txn.builder();
        var sync = volumes.onReport(s, reported, faults, txn, clock.now());
        res.awaitRevision(store.txn(txn.build()).revision());
        return sync;
    }

    VolumeStatus status(String id) {
        return res.volumes().get(id).orElseThrow().value().status();
    }

    @Test
    void aPluggedVolumeBecomesInUse() {
        volume("v1", VolumeStatus.ATTACHING, "s1");
        Server s = server(List.of(device("v1", false)));
        var sync = report(s, Set.of("v1"), Map.of());
        assertThat(sync.changed()).isTrue();
        assertThat(sync.blockDevices()).isNull();
        assertThat(status("v1")).isEqualTo(VolumeStatus.IN_USE);
    }

    @Test
    void aVolumeNotYetPluggedStaysAttaching() {
        volume("v1", VolumeStatus.ATTACHING, "s1");
        Server s = server(List.of(device("v1", false)));
        assertThat(report(s, Set.of(), Map.of()).changed()).isFalse();
        assertThat(status("v1")).isEqualTo(VolumeStatus.ATTACHING);
    }

    @Test
    void aPlugGivenUpPutsTheVolumeBackAndDropsItFromTheServer() {
        volume("v1", VolumeStatus.ATTACHING, "s1");
        volume("v2", VolumeStatus.IN_USE, "s1");
        Server s = server(List.of(device("v1", false), device("v2", false)));
        var sync = report(s, Set.of("v2"), Map.of("v1", "cannot open volume v1: Could not open file"));
        assertThat(sync.failures()).containsOnlyKeys("v1");
        assertThat(sync.blockDevices()).extracting(BlockDevice::volumeId).containsExactly("v2");
        Volume v1 = res.volumes().get("v1").orElseThrow().value();
        assertThat(v1.status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(v1.attachments()).isEmpty();
        assertThat(status("v2")).isEqualTo(VolumeStatus.IN_USE);
    }

    @Test
    void anUnplugTheGuestRefusedLeavesTheVolumeAttached() {
        volume("v1", VolumeStatus.DETACHING, "s1");
        Server s = server(List.of());
        var sync = report(s, Set.of("v1"), Map.of("v1", "the guest did not release volume v1 within 10 s"));
        assertThat(sync.failures()).containsOnlyKeys("v1");
        assertThat(sync.blockDevices()).extracting(BlockDevice::volumeId).containsExactly("v1");
        assertThat(sync.blockDevices().get(0).attachmentId()).isEqualTo("att-v1");
        assertThat(status("v1")).isEqualTo(VolumeStatus.IN_USE);
    }

    @Test
    void anUnpluggedVolumeBecomesAvailable() {
        volume("v1", VolumeStatus.DETACHING, "s1");
        Server s = server(List.of());
        assertThat(report(s, Set.of(), Map.of()).changed()).isTrue();
        Volume v1 = res.volumes().get("v1").orElseThrow().value();
        assertThat(v1.status()).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(v1.attachments()).isEmpty();
    }

    @Test
    void aRemovedServerLetsGoOfItsVolumesAndDeletesThoseMadeToGoWithIt() {
        volume("keep", VolumeStatus.IN_USE, "s1");
        volume("drop", VolumeStatus.IN_USE, "s1");
        volume("other", VolumeStatus.AVAILABLE, null);
        Server s = server(List.of(device("keep", false), device("drop", true)));
        res.sync();
        var txn = Txn.builder();
        volumes.onServerRemoved(s, txn, clock.now());
        res.awaitRevision(store.txn(txn.build()).revision());
        assertThat(status("keep")).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(status("drop")).isEqualTo(VolumeStatus.DELETING);
        assertThat(status("other")).isEqualTo(VolumeStatus.AVAILABLE);
        assertThat(res.volumes().get("drop").orElseThrow().value().attachments()).isEmpty();
    }
}
