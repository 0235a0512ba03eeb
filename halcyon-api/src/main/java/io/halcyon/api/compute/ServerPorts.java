package io.halcyon.api.compute;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.http.ApiException;
import io.halcyon.api.network.NetworkService;
import io.halcyon.api.network.PortService;
import io.halcyon.model.compute.Nic;
import io.halcyon.model.compute.Server;
import io.halcyon.model.network.FloatingIp;
import io.halcyon.model.network.Network;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.SecurityGroup;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * How a server's NICs map onto Neutron ports: ports created (or existing ones bound) in the
 * server's own transaction, so a server never exists without the ports it was promised, and ports
 * let go when it is gone: the ones it created deleted, the ones it was given only unbound.
 */
public final class ServerPorts {
    /** One entry of a server's {@code networks}: a network (with an optional fixed IP) or an existing port. */
    public record NicRequest(String networkId, String portId, String fixedIp) {
    }

    private final Resources res;
    private final NetworkService net;
    private final Repository<Port> ports;

    public ServerPorts(Resources res, NetworkService net) {
        this.res = requireNonNull(res, "res is null");
        this.net = requireNonNull(net, "net is null");
        this.ports = net.ports().portRepo();
    }

    public NetworkService network() {
        return net;
    }

    /**
     * What a server gets when it names no network: Nova's rule, the one network the project may use
     * if there is exactly one; none if there is none; an error if it is ambiguous.
     */
    public List<NicRequest> defaultNics(AuthContext ctx) {
        res.sync();
        var usable = res.networks().list().stream().map(Versioned::value)
                .filter(n -> !n.external() && (n.projectId().equals(ctx.projectId()) || n.shared())).toList();
        if (usable.size() > 1) {
            throw ApiException.conflict("Multiple possible networks found, use a Network ID to be more specific.");
        }
        return usable.stream().map(n -> new NicRequest(n.id(), null, null)).toList();
    }

    /** Checks the requests before anything is written: networks exist, ports are free, fixed IPs are valid addresses. */
    public void validate(AuthContext ctx, List<NicRequest> nics, int count) {
        var seenPorts = new HashSet<String>();
        for (NicRequest n : nics) {
            if (n.portId() != null) {
                if (count > 1) {
                    throw ApiException.badRequest("Unable to launch multiple instances with a single configured port ID. Please launch "
                            + "your instance one by one with different ports.");
                }
                if (!seenPorts.add(n.portId())) {
                    throw ApiException.badRequest("Port " + n.portId() + " is requested twice.");
                }
                Port p = port(ctx, n.portId()).value();
                if (!p.deviceId().isEmpty()) {
                    throw ApiException.conflict("Port " + p.id() + " is still in use.");
                }
            } else {
                network(ctx, n.networkId());
                if (n.fixedIp() != null && count > 1) {
                    throw ApiException.badRequest("Unable to launch multiple instances with a single fixed IP address.");
                }
            }
        }
    }

    private Versioned<Port> port(AuthContext ctx, String id) {
        res.sync();
        return res.ports().get(id).filter(v -> ctx.isAdmin() || v.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> ApiException.badRequest("Port id " + id + " could not be found."));
    }

    private Network network(AuthContext ctx, String id) {
        res.sync();
        return res.networks().get(id).map(Versioned::value)
                .filter(n -> ctx.isAdmin() || n.projectId().equals(ctx.projectId()) || n.shared())
                .orElseThrow(() -> ApiException.badRequest("Network " + id + " could not be found."));
    }

    /**
     * Adds the server's ports to its transaction: new ones for networks (compute:nova, in the
     * server's security groups), existing ones bound to it. {@code taken} collects addresses across
     * the servers of one request so none is handed out twice.
     */
    public List<Nic> prepare(AuthContext ctx, String serverId, List<NicRequest> nics, List<String> securityGroups, Set<String> taken,
                             Txn.Builder txn, Instant now) {
        var out = new ArrayList<Nic>();
        for (NicRequest n : nics) {
            if (n.portId() != null) {
                Versioned<Port> p = port(ctx, n.portId());
                txn.when(ports.unchanged(p.value().id(), p.revision()))
                        .onSuccess(ports.put(p.value().withDevice(Port.OWNER_COMPUTE, serverId, "", now)));
                out.add(new Nic(p.value().id(), true));
                continue;
            }
            var fixed = n.fixedIp() == null ? null : List.of(new PortService.FixedIpRequest(null, n.fixedIp()));
            var req = new PortService.PortRequest(n.networkId(), "", null, null, null, fixed, Port.OWNER_COMPUTE, serverId,
                    securityGroups, null, null, null, null);
            PortService.PreparedPort prepared = translate(() -> net.ports().preparePort(ctx, req, ctx.projectId(), taken));
            prepared.addTo(txn, net.ports());
            prepared.ips().forEach(a -> taken.add(a.ipAddress()));
            out.add(new Nic(prepared.port().id(), false));
        }
        return out;
    }

    /** Neutron's errors become the compute API's: a port that cannot be made is a bad server request. */
    private static <T> T translate(java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } catch (ApiException e) {
            if (e.status() == 404) {
                throw ApiException.badRequest(e.getMessage());
            }
            if ("IpAddressGenerationFailure".equals(e.type()) || "IpAddressAlreadyAllocated".equals(e.type())) {
                throw ApiException.conflict(e.getMessage());
            }
            throw e;
        }
    }

    /** The server is gone: delete the ports it made, unbind the ones it was given. */
    public void onServerRemoved(Server s, Txn.Builder txn, Instant now) {
        var preserved = new HashSet<String>();
        var made = new HashSet<String>();
        for (Nic n : s.spec().nics()) {
            (n.preserveOnDelete() ? preserved : made).add(n.portId());
        }
        for (Versioned<Port> vp : res.ports().byIndex(Resources.BY_DEVICE, s.id())) {
            Port p = vp.value();
            if (!Port.OWNER_COMPUTE.equals(p.deviceOwner())) {
                continue;
            }
            if (made.contains(p.id())) {
                txn.when(ports.unchanged(p.id(), vp.revision()));
                net.ports().releaseOps(p, txn);
            } else if (preserved.contains(p.id())) {
                txn.when(ports.unchanged(p.id(), vp.revision())).onSuccess(ports.put(p.withDevice("", "", "", now).withStatus("DOWN", now)));
            }
        }
    }

    /** Detaches one NIC: the port is deleted if the server made it, else unbound. */
    public void release(Server s, Nic nic, Txn.Builder txn, Instant now) {
        Optional<Versioned<Port>> vp = res.ports().get(nic.portId());
        if (vp.isEmpty()) {
            return;
        }
        Port p = vp.get().value();
        txn.when(ports.unchanged(p.id(), vp.get().revision()));
        if (nic.preserveOnDelete()) {
            txn.onSuccess(ports.put(p.withDevice("", "", "", now).withStatus("DOWN", now)));
        } else {
            net.ports().releaseOps(p, txn);
        }
    }

    /** The {@code addresses} of a server view: per network name, its fixed and floating IPs. */
    public Map<String, Object> addresses(Server s) {
        var out = new LinkedHashMap<String, Object>();
        for (Nic nic : s.spec().nics()) {
            Optional<Port> p = res.ports().get(nic.portId()).map(Versioned::value);
            if (p.isEmpty()) {
                continue;
            }
            String netName = res.networks().get(p.get().networkId()).map(n -> n.value().name().isEmpty() ? n.value().id() : n.value().name())
                    .orElse(p.get().networkId());
            @SuppressWarnings("unchecked")
            var list = (List<Map<String, Object>>) out.computeIfAbsent(netName, k -> new ArrayList<Map<String, Object>>());
            for (Port.FixedIp f : p.get().fixedIps()) {
                list.add(address(f.ipAddress(), "fixed", p.get().macAddress()));
                for (Versioned<FloatingIp> fip : res.floatingIps().byIndex(Resources.BY_PORT, p.get().id())) {
                    if (f.ipAddress().equals(fip.value().fixedIpAddress())) {
                        list.add(address(fip.value().floatingIpAddress(), "floating", p.get().macAddress()));
                    }
                }
            }
        }
        return out;
    }

    private static Map<String, Object> address(String ip, String type, String mac) {
        var m = new LinkedHashMap<String, Object>();
        m.put("version", ip.contains(":") ? 6 : 4);
        m.put("addr", ip);
        m.put("OS-EXT-IPS:type", type);
        m.put("OS-EXT-IPS-MAC:mac_addr", mac);
        return m;
    }

    /** Names of the security groups on the server's ports, as Nova shows them. */
    public List<Map<String, Object>> securityGroups(Server s) {
        var names = new LinkedHashSet<String>();
        for (Nic nic : s.spec().nics()) {
            res.ports().get(nic.portId()).ifPresent(p -> p.value().securityGroups().forEach(g ->
                    names.add(res.securityGroups().get(g).map(x -> x.value().name()).orElse(g))));
        }
        if (s.spec().nics().isEmpty()) {
            names.add(SecurityGroup.DEFAULT);
        }
        return names.stream().map(n -> Map.<String, Object>of("name", n)).toList();
    }

    /** One entry of os-interface. */
    public Map<String, Object> interfaceView(String portId) {
        Port p = res.ports().get(portId).map(Versioned::value).orElse(null);
        var m = new LinkedHashMap<String, Object>();
        m.put("port_id", portId);
        m.put("net_id", p == null ? null : p.networkId());
        m.put("mac_addr", p == null ? null : p.macAddress());
        m.put("port_state", p == null ? "DOWN" : p.status());
        var ips = new ArrayList<Map<String, Object>>();
        if (p != null) {
            p.fixedIps().forEach(f -> ips.add(Map.of("subnet_id", f.subnetId(), "ip_address", f.ipAddress())));
        }
        m.put("fixed_ips", ips);
        return m;
    }
}
