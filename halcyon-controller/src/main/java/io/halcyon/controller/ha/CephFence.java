package io.halcyon.controller.ha;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.model.compute.BlockDevice;
import io.halcyon.model.compute.Server;
import io.halcyon.model.host.Host;
import io.halcyon.model.volume.Volume;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.storage.Backends;
import io.halcyon.storage.Rbd;
import io.halcyon.storage.RbdBackend;
import io.halcyon.storage.StorageException;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * The storage fence for guests on Ceph: every client of the host's address is put on each
 * cluster's OSD blocklist, so a host wrongly declared dead can no longer write a byte, whatever
 * its QEMU still believes (RBD's exclusive lock is cooperative and stops nothing). The address is
 * the one the host's agent is reached at, which is its Ceph client address when the agent listens
 * on the storage network. Entries are added for ten years and removed explicitly when the host has
 * rejoined empty.
 */
final class CephFence implements HaController.StorageFence {
    static final long EXPIRE_SECONDS = 10L * 365 * 24 * 3600;

    private final Resources res;
    private final Backends backends;

    CephFence(Resources res, Backends backends) {
        this.res = requireNonNull(res, "res is null");
        this.backends = requireNonNull(backends, "backends is null");
    }

    /** One client per cluster (backends sharing a ceph.conf share a blocklist). */
    private List<Rbd> clusters() {
        var byConf = new LinkedHashMap<String, Rbd>();
        for (var b : backends.all()) {
            if (b instanceof RbdBackend r) {
                byConf.putIfAbsent(r.rbd().conf().toAbsolutePath().normalize().toString(), r.rbd());
            }
        }
        return List.copyOf(byConf.values());
    }

    @Override
    public boolean enabled() {
        return !clusters().isEmpty();
    }

    @Override
    public boolean needed(Server s) {
        if (!s.spec().imageId().isEmpty() && s.spec().blockDevices().stream().noneMatch(BlockDevice::root)
                && backends.rootDisks() instanceof RbdBackend) {
            return true;
        }
        for (BlockDevice b : s.spec().blockDevices()) {
            Volume v = res.volumes().get(b.volumeId()).map(Versioned::value).orElse(null);
            if (v != null && backends.get(v.backend()).orElse(null) instanceof RbdBackend) {
                return true;
            }
        }
        return false;
    }

    /** The host's client address as Ceph's blocklist names every client of one IP. */
    static String entry(Host h) throws StorageException {
        if (h.endpoint() == null) {
            throw new StorageException("host " + h.name() + " registered no address");
        }
        String host;
        try {
            host = URI.create(h.endpoint()).getHost();
        } catch (IllegalArgumentException e) {
            throw new StorageException("host " + h.name() + " has an unreadable address " + h.endpoint());
        }
        if (host == null || host.isEmpty()) {
            throw new StorageException("host " + h.name() + " has no address in " + h.endpoint());
        }
        try {
            InetAddress a = InetAddress.getByName(host.replaceAll("^\\[|]$", ""));
            if (a.isAnyLocalAddress() || a.isLoopbackAddress()) {
                throw new StorageException("host " + h.name() + " is reached at " + a.getHostAddress()
                        + ", which cannot name it on Ceph's blocklist");
            }
            String ip = a.getHostAddress();
            return (ip.contains(":") ? "[" + ip + "]" : ip) + ":0/0";
        } catch (UnknownHostException e) {
            throw new StorageException("cannot resolve host " + h.name() + "'s address " + host);
        }
    }

    @Override
    public String fence(Host h) throws StorageException {
        String entry = entry(h);
        var done = new ArrayList<String>();
        for (Rbd c : clusters()) {
            c.ceph("osd", "blocklist", "add", entry, Long.toString(EXPIRE_SECONDS));
            done.add(c.conf().toString());
        }
        return "blocklisted " + entry + " on " + String.join(", ", done);
    }

    @Override
    public String unfence(Host h) throws StorageException {
        String entry = entry(h);
        for (Rbd c : clusters()) {
            c.ceph("osd", "blocklist", "rm", entry);
        }
        return "removed " + entry + " from the blocklist";
    }

    @Override
    public boolean fenced(Host h) throws StorageException {
        String entry = entry(h);
        for (Rbd c : clusters()) {
            for (JsonNode n : c.cephJson("osd", "blocklist", "ls")) {
                if (entry.equals(n.path("addr").asText())) {
                    return true;
                }
            }
        }
        return false;
    }
}
