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
import io.halcyon.storage.RbdImages;
import io.halcyon.storage.StorageException;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * The storage fence for guests on Ceph: the host's Ceph clients go on each cluster's OSD
 * blocklist, so a host wrongly declared dead can no longer write a byte, whatever its QEMU still
 * believes (RBD's exclusive lock alone hands itself over on request and stops nothing). The
 * addresses are the ones Ceph sees: the holder of each of the host's guests' images' exclusive
 * lock (and the image's watchers from the same address), exactly, and every client of that IP
 * unless it is a loopback one; plus the IP the agent is reached at, when that is not loopback. So
 * a host whose Ceph traffic leaves by a storage network is fenced on that network. The entries
 * are recorded with the host's HA status and removed once it has rejoined empty.
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
        return !images(s).isEmpty();
    }

    /** The server's RBD images, each with the client of its cluster. */
    private Map<String, Rbd> images(Server s) {
        var out = new LinkedHashMap<String, Rbd>();
        if (!s.spec().imageId().isEmpty() && s.spec().blockDevices().stream().noneMatch(BlockDevice::root)
                && backends.rootDisks() instanceof RbdBackend r) {
            out.put(RbdImages.server(s.id()), r.rbd());
        }
        for (BlockDevice b : s.spec().blockDevices()) {
            Volume v = res.volumes().get(b.volumeId()).map(Versioned::value).orElse(null);
            if (v != null && backends.get(v.backend()).orElse(null) instanceof RbdBackend r) {
                out.put(RbdImages.volume(v.id()), r.rbd());
            }
        }
        return out;
    }

    /** The agent's own address as a whole-IP entry, when it names a host (not loopback); null otherwise. */
    static String endpointEntry(Host h) {
        if (h.endpoint() == null) {
            return null;
        }
        try {
            String host = URI.create(h.endpoint()).getHost();
            if (host == null || host.isEmpty()) {
                return null;
            }
            InetAddress a = InetAddress.getByName(host.replaceAll("^\\[|]$", ""));
            return a.isAnyLocalAddress() || a.isLoopbackAddress() ? null : wholeIp(a.getHostAddress());
        } catch (IllegalArgumentException | UnknownHostException e) {
            return null;
        }
    }

    static String wholeIp(String ip) {
        return (ip.contains(":") ? "[" + ip + "]" : ip) + ":0/0";
    }

    /**
     * A client address as Ceph prints it (v1:/v2: prefixed or not, IPv6 in brackets) as the
     * blocklist names it ({@code ip:port/nonce}); null when it cannot be read.
     */
    static String clientAddress(String raw) {
        if (raw == null) {
            return null;
        }
        String a = raw.trim().replaceFirst("^(any:|v1:|v2:)", "");
        return a.matches("(\\[[0-9a-fA-F:.]+]|[0-9.]+):\\d+/\\d+") ? a : null;
    }

    /** The IP of a client address ({@code ip:port/nonce}). */
    static String ipOf(String address) {
        String hostPort = address.substring(0, address.indexOf('/'));
        return hostPort.substring(0, hostPort.lastIndexOf(':')).replaceAll("^\\[|]$", "");
    }

    static boolean loopback(String ip) {
        return ip.startsWith("127.") || ip.equals("::1");
    }

    /**
     * The entries that fence the clients seen holding the images' locks: each holder exactly, the
     * watchers from a holder's IP exactly, and each holder's whole IP unless it is loopback (where
     * every host of a lab, and the controller, would share it).
     */
    static List<String> entries(List<JsonNode> lockLists, List<JsonNode> statuses, String endpointEntry) {
        var holders = new LinkedHashSet<String>();
        for (JsonNode locks : lockLists) {
            // a list of {id, locker, address}; older releases print an object keyed by the lock id
            for (JsonNode l : locks) {
                String a = clientAddress(l.path("address").asText(null));
                if (a != null) {
                    holders.add(a);
                }
            }
        }
        Set<String> ips = new LinkedHashSet<>();
        holders.forEach(a -> ips.add(ipOf(a)));
        var out = new LinkedHashSet<>(holders);
        for (JsonNode st : statuses) {
            for (JsonNode w : st.path("watchers")) {
                String a = clientAddress(w.path("address").asText(null));
                if (a != null && ips.contains(ipOf(a))) {
                    out.add(a);
                }
            }
        }
        for (String ip : ips) {
            if (!loopback(ip)) {
                out.add(wholeIp(ip));
            }
        }
        if (endpointEntry != null) {
            out.add(endpointEntry);
        }
        return List.copyOf(out);
    }

    @Override
    public List<String> entries(Host h) throws StorageException {
        var locks = new ArrayList<JsonNode>();
        var statuses = new ArrayList<JsonNode>();
        for (var s : res.servers().byIndex(Resources.BY_HOST, h.name())) {
            for (var e : images(s.value()).entrySet()) {
                Rbd c = e.getValue();
                if (!c.imageExists(e.getKey())) {
                    continue;
                }
                locks.add(c.rbdJson("lock", "ls", c.spec(e.getKey())));
                statuses.add(c.rbdJson("status", c.spec(e.getKey())));
            }
        }
        // empty when no image is locked: nothing of the host writes them
        return entries(locks, statuses, endpointEntry(h));
    }

    @Override
    public String fence(List<String> entries) throws StorageException {
        var done = new ArrayList<String>();
        for (Rbd c : clusters()) {
            for (String e : entries) {
                c.ceph("osd", "blocklist", "add", e, Long.toString(EXPIRE_SECONDS));
            }
            done.add(c.conf().toString());
        }
        return "blocklisted " + String.join(" ", entries) + " on " + String.join(", ", done);
    }

    @Override
    public String unfence(List<String> entries) throws StorageException {
        for (Rbd c : clusters()) {
            for (String e : entries) {
                c.ceph("osd", "blocklist", "rm", e);
            }
        }
        return "removed " + String.join(" ", entries) + " from the blocklist";
    }
}
