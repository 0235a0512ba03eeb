package io.halcyon.agent.qemu;

import io.halcyon.model.agent.DiskSpec;
import io.halcyon.model.agent.NicSpec;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static java.util.Objects.requireNonNull;

/**
 * Hot-plugging volumes and NICs into a running guest over QMP, and unplugging them with the
 * guest's consent, for {@link QemuDriver}.
 */
final class QemuHotplug {
    private static final Logger log = LoggerFactory.getLogger(QemuHotplug.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration UNPLUG_TIMEOUT = Duration.ofSeconds(10);
    private static final int UNPLUG_REQUESTS = 3;

    private final QemuDriver driver;
    private final Map<String, CompletableFuture<Void>> unplugs = new ConcurrentHashMap<>();

    QemuHotplug(QemuDriver driver) {
        this.driver = driver;
    }

    /** QEMU's DEVICE_DELETED: the guest let the device go. */
    void deviceDeleted(String serverId, String device) {
        CompletableFuture<Void> f = unplugs.get(serverId + "/" + device);
        if (f != null) {
            f.complete(null);
        }
    }

    void attach(String serverId, DiskSpec volume) throws Exception {
        String vid = requireNonNull(volume.volumeId(), "volume id is null");
        if (driver.plugged(serverId).contains(vid)) {
            return;
        }
        QmpClient c = driver.qmp(serverId);
        String file = QemuCommand.fileNode(vid);
        String format = QemuCommand.formatNode(vid);
        removeNodes(c, serverId, vid);
        c.execute("blockdev-add", (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(QemuCommand.fileBlockdev(volume, file)),
                QemuDriver.QMP_TIMEOUT);
        try {
            c.execute("blockdev-add", (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(
                    QemuCommand.formatBlockdev(volume, format, file)), QemuDriver.QMP_TIMEOUT);
        } catch (IOException e) {
            removeNodes(c, serverId, vid);
            throw new IOException("cannot open volume " + vid + ": " + e.getMessage(), e);
        }
        var dev = QmpClient.args();
        dev.put("driver", "virtio-blk-pci");
        dev.put("drive", format);
        dev.put("id", QemuCommand.deviceId(vid));
        if (volume.serial() != null) {
            dev.put("serial", volume.serial());
        }
        try {
            c.execute("device_add", dev, QemuDriver.QMP_TIMEOUT);
        } catch (IOException e) {
            removeNodes(c, serverId, vid);
            throw new IOException("cannot plug volume " + vid + " into the guest: " + e.getMessage(), e);
        }
        log.info("event=volume_attached server_id={} volume_id={}", serverId, vid);
    }

    /**
     * Unplugging needs the guest's consent: QEMU removes the device only once the guest has
     * released it (DEVICE_DELETED). A request made while the guest is still booting can be
     * dropped, so it is repeated; the block nodes go only after the device is gone, so a guest
     * that never lets go keeps a working disk.
     */
    void detach(String serverId, String volumeId) throws Exception {
        QmpClient c = driver.qmp(serverId);
        if (driver.plugged(serverId).contains(volumeId)) {
            unplugDevice(c, serverId, QemuCommand.deviceId(volumeId), () -> driver.plugged(serverId).contains(volumeId));
        }
        removeNodes(c, serverId, volumeId);
        log.info("event=volume_detached server_id={} volume_id={}", serverId, volumeId);
    }

    /** Drops a volume's block nodes if they exist (left by a plug that failed half-way, or by an unplug). */
    private void removeNodes(QmpClient c, String serverId, String volumeId) throws IOException {
        for (String node : List.of(QemuCommand.formatNode(volumeId), QemuCommand.fileNode(volumeId))) {
            var args = QmpClient.args();
            args.put("node-name", node);
            try {
                c.execute("blockdev-del", args, QemuDriver.QMP_TIMEOUT);
            } catch (QmpClient.QmpException e) {
                if (!e.getMessage().contains("Failed to find node") && !e.getMessage().contains("Cannot find node")) {
                    log.warn("event=blockdev_del_failed server_id={} node={} error=\"{}\"", serverId, node, e.getMessage());
                }
            }
        }
    }

    /** The ports whose taps this guest has on the host, kept beside it so a destroy finds them after any restart. */
    List<String> recordedNics(String serverId) {
        Path f = driver.dir(serverId).resolve("nics");
        try {
            return Files.exists(f) ? Files.readAllLines(f).stream().filter(x -> !x.isBlank()).toList() : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    synchronized void recordNics(String serverId, List<String> add, List<String> remove) throws IOException {
        var ports = new java.util.LinkedHashSet<>(recordedNics(serverId));
        ports.addAll(add);
        remove.forEach(ports::remove);
        Files.createDirectories(driver.dir(serverId));
        Files.write(driver.dir(serverId).resolve("nics"), ports);
    }

    void plugNic(String serverId, NicSpec nic) throws Exception {
        driver.plugged(serverId);
        if (driver.nicsSeen(serverId).contains(nic.portId())) {
            return;
        }
        driver.network().plug(serverId, nic);
        recordNics(serverId, List.of(nic.portId()), List.of());
        QmpClient c = driver.qmp(serverId);
        var net = QmpClient.args();
        net.put("type", "tap");
        net.put("id", QemuCommand.netdevId(nic.portId()));
        net.put("ifname", nic.tap());
        net.put("script", "no");
        net.put("downscript", "no");
        net.put("vnet_hdr", false);
        try {
            c.execute("netdev_add", net, QemuDriver.QMP_TIMEOUT);
        } catch (QmpClient.QmpException e) {
            if (!e.getMessage().contains("Duplicate ID")) {
                throw e;
            }
        }
        var dev = QmpClient.args();
        dev.put("driver", "virtio-net-pci");
        dev.put("netdev", QemuCommand.netdevId(nic.portId()));
        dev.put("mac", nic.macAddress());
        dev.put("id", QemuCommand.nicDevice(nic.portId()));
        try {
            c.execute("device_add", dev, QemuDriver.QMP_TIMEOUT);
        } catch (IOException e) {
            deleteNetdev(c, serverId, nic.portId());
            throw new IOException("cannot plug the NIC of port " + nic.portId() + " into the guest: " + e.getMessage(), e);
        }
        driver.plugged(serverId);
        log.info("event=nic_attached server_id={} port_id={}", serverId, nic.portId());
    }

    void unplugNic(String serverId, String portId) throws Exception {
        QmpClient c = driver.qmp(serverId);
        driver.plugged(serverId);
        if (driver.nicsSeen(serverId).contains(portId)) {
            unplugDevice(c, serverId, QemuCommand.nicDevice(portId), () -> {
                driver.plugged(serverId);
                return driver.nicsSeen(serverId).contains(portId);
            });
        }
        deleteNetdev(c, serverId, portId);
        driver.network().unplug(portId);
        recordNics(serverId, List.of(), List.of(portId));
        log.info("event=nic_detached server_id={} port_id={}", serverId, portId);
    }

    private void deleteNetdev(QmpClient c, String serverId, String portId) {
        var args = QmpClient.args();
        args.put("id", QemuCommand.netdevId(portId));
        try {
            c.execute("netdev_del", args, QemuDriver.QMP_TIMEOUT);
        } catch (IOException e) {
            if (!e.getMessage().contains("not found")) {
                log.warn("event=netdev_del_failed server_id={} port_id={} error=\"{}\"", serverId, portId, e.getMessage());
            }
        }
    }

    interface StillPlugged {
        boolean check() throws IOException;
    }

    /** device_del, repeated while a booting guest may drop it, until DEVICE_DELETED or the device is gone. */
    private void unplugDevice(QmpClient c, String serverId, String device, StillPlugged stillPlugged) throws Exception {
        String key = serverId + "/" + device;
        var done = new CompletableFuture<Void>();
        unplugs.put(key, done);
        try {
            boolean gone = false;
            for (int i = 0; i < UNPLUG_REQUESTS && !gone; i++) {
                var args = QmpClient.args();
                args.put("id", device);
                try {
                    c.execute("device_del", args, QemuDriver.QMP_TIMEOUT);
                } catch (QmpClient.QmpException e) {
                    if (!stillPlugged.check()) {
                        break; // it went between our look and the request
                    }
                    if (!e.getMessage().contains("is already in the process of unplug")) {
                        throw e;
                    }
                }
                try {
                    done.get(UNPLUG_TIMEOUT.toMillis() / UNPLUG_REQUESTS, TimeUnit.MILLISECONDS);
                    gone = true;
                } catch (TimeoutException e) {
                    gone = !stillPlugged.check();
                } catch (ExecutionException e) {
                    throw new IOException(e.getCause());
                }
            }
            if (!gone && stillPlugged.check()) {
                throw new IOException("the guest did not release " + device + " within " + UNPLUG_TIMEOUT.toSeconds() + " s");
            }
        } finally {
            unplugs.remove(key);
        }
    }
}
