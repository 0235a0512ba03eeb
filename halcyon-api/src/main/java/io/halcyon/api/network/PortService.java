package io.halcyon.api.network;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.model.Ids;
import io.halcyon.model.network.FloatingIp;
import io.halcyon.model.network.IpAllocation;
import io.halcyon.model.network.Ipv4;
import io.halcyon.model.network.MacAllocation;
import io.halcyon.model.network.Network;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.Subnet;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * Neutron's ports: each written in one compare-and-swap transaction with its MAC and each of its
 * addresses, each guarded by an "absent" compare on its own key, so concurrent requests never
 * share a MAC or an IP; the loser of a race picks again (or answers 409 when the caller named the
 * taken value). Networks and subnets, and who may see them, are {@link NetworkService}'s.
 */
public final class PortService {
    private static final Logger log = LoggerFactory.getLogger(PortService.class);
    private static final Pattern MAC = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
    private static final int ATTEMPTS = 50;

    private final NetworkService network;
    private final Resources res;
    private final NetworkSettings settings;
    private final NetworkQuotas quotas;
    private final SecurityGroupService groups;
    private final Repository<Network> networks;
    private final Repository<Subnet> subnets;
    private final Repository<Port> ports;
    private final Repository<IpAllocation> ips;
    private final Repository<MacAllocation> macs;
    private final Repository<FloatingIp> floatingIps;

    PortService(NetworkService net, Resources res, NetworkSettings settings, NetworkQuotas quotas, SecurityGroupService groups) {
        this.network = requireNonNull(net, "net is null");
        this.res = requireNonNull(res, "res is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.groups = requireNonNull(groups, "groups is null");
        this.networks = res.repo(Kinds.NETWORKS);
        this.subnets = res.repo(Kinds.SUBNETS);
        this.ports = res.repo(Kinds.PORTS);
        this.ips = res.repo(Kinds.IP_ALLOCATIONS);
        this.macs = res.repo(Kinds.MAC_ALLOCATIONS);
        this.floatingIps = res.repo(Kinds.FLOATING_IPS);
    }

    /** A fixed IP asked for: a subnet, an address, or both. */
    public record FixedIpRequest(String subnetId, String ipAddress) {
    }

    public record PortRequest(String networkId, String name, String description, Boolean adminStateUp, String macAddress,
                              List<FixedIpRequest> fixedIps, String deviceOwner, String deviceId, List<String> securityGroups,
                              Boolean portSecurityEnabled, List<Port.AddressPair> allowedAddressPairs, String hostId, String projectId) {
        public PortRequest withDevice(String owner, String device) {
            return new PortRequest(networkId, name, description, adminStateUp, macAddress, fixedIps, owner, device, securityGroups,
                    portSecurityEnabled, allowedAddressPairs, hostId, projectId);
        }
    }

    /** A port ready to be written, with what guards it; {@link #createPort} commits it alone, servers commit it with themselves. */
    public record PreparedPort(Port port, List<IpAllocation> ips, Versioned<Network> network) {
        public void addTo(Txn.Builder txn, PortService svc) {
            txn.when(svc.ports.absent(port.id()), svc.macs.absent(MacAllocation.key(port.networkId(), port.macAddress())))
                    .onSuccess(svc.ports.put(port), svc.macs.put(new MacAllocation(port.networkId(), port.macAddress(), port.id())));
            for (IpAllocation a : ips) {
                txn.when(svc.ips.absent(a.key())).onSuccess(svc.ips.put(a));
            }
        }
    }

    public Port createPort(AuthContext ctx, PortRequest req) {
        Policy.requireMember(ctx, "create_port");
        if (req.hostId() != null && !ctx.isAdmin()) {
            throw NetworkErrors.forbidden("create_port:binding:host_id");
        }
        String project = req.projectId() != null && ctx.isAdmin() ? req.projectId() : ctx.projectId();
        quotas.check(project, "port", 1);
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            PreparedPort p = preparePort(ctx, req, project, Set.of());
            var txn = Txn.builder().when(networks.unchanged(p.network().value().id(), p.network().revision()));
            p.addTo(txn, this);
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=port_created port_id={} network_id={} ips={}", p.port().id(), p.port().networkId(),
                        p.port().fixedIps().stream().map(Port.FixedIp::ipAddress).toList());
                return p.port();
            }
            explainConflict(req, p);
        }
        throw ApiException.conflict("No more IP addresses available on network " + req.networkId() + ": every pick raced with another "
                + "request; retry.").withType("IpAddressGenerationFailure");
    }

    /** After a lost race: an address or MAC the caller named is now held by someone else. */
    private void explainConflict(PortRequest req, PreparedPort p) {
        res.sync();
        if (req.macAddress() != null && macTaken(p.port().networkId(), p.port().macAddress())) {
            throw macInUse(p.port().macAddress(), p.port().networkId());
        }
        if (req.fixedIps() != null) {
            for (FixedIpRequest f : req.fixedIps()) {
                if (f.ipAddress() != null) {
                    for (IpAllocation a : p.ips()) {
                        if (a.ipAddress().equals(f.ipAddress()) && res.ipAllocations().get(a.key()).isPresent()) {
                            throw ipInUse(a.ipAddress(), a.subnetId());
                        }
                    }
                }
            }
        }
    }

    static ApiException macInUse(String mac, String network) {
        return ApiException.conflict("Unable to complete operation for network " + network + ". The mac address " + mac + " is in use.")
                .withType("MacAddressInUse");
    }

    static ApiException ipInUse(String ip, String subnet) {
        return ApiException.conflict("IP address " + ip + " already allocated in subnet " + subnet).withType("IpAddressAlreadyAllocated");
    }

    /**
     * Validates a port request and picks its MAC and addresses against the current cache. Nothing is
     * written: the caller commits {@link PreparedPort#addTo} and retries on conflict.
     * {@code avoid} are addresses other ports of the same transaction take.
     */
    public PreparedPort preparePort(AuthContext ctx, PortRequest req, String project, Set<String> avoid) {
        if (req.networkId() == null) {
            throw NetworkErrors.invalid("network_id is required.");
        }
        Versioned<Network> net = network.visibleNetwork(ctx, req.networkId());
        Network n = net.value();
        if (!ctx.isAdmin() && !n.projectId().equals(ctx.projectId()) && !n.shared()) {
            throw ApiException.forbidden("Tenant " + ctx.projectId() + " not allowed to create port on this network").withType("Forbidden");
        }
        String mac = req.macAddress();
        if (mac != null) {
            if (!MAC.matcher(mac).matches() || (Integer.parseInt(mac.substring(0, 2), 16) & 1) == 1 || mac.equals("00:00:00:00:00:00")) {
                throw ApiException.badRequest("Invalid input for mac_address. Reason: '" + mac + "' is not a valid MAC address.")
                        .withType("InvalidInput");
            }
            mac = mac.toLowerCase();
            if (macTaken(n.id(), mac)) {
                throw macInUse(mac, n.id());
            }
        } else {
            do {
                mac = randomMac();
            } while (macTaken(n.id(), mac));
        }
        boolean portSecurity = req.portSecurityEnabled() == null ? n.portSecurityEnabled() : req.portSecurityEnabled();
        List<String> sgs;
        if (!portSecurity) {
            if (req.securityGroups() != null && !req.securityGroups().isEmpty()) {
                throw ApiException.badRequest("Port has security group associated. Cannot disable port security or ip address until "
                        + "security group is removed.").withType("PortSecurityAndIPRequiredForSecurityGroups");
            }
            if (req.allowedAddressPairs() != null && !req.allowedAddressPairs().isEmpty()) {
                throw ApiException.conflict("Port Security must be enabled in order to have allowed address pairs on a port.")
                        .withType("AddressPairAndPortSecurityRequired");
            }
            sgs = List.of();
        } else if (req.securityGroups() != null) {
            sgs = groups.resolve(ctx, req.securityGroups());
        } else if (req.deviceOwner() != null && req.deviceOwner().startsWith("network:")) {
            sgs = List.of();
        } else {
            sgs = List.of(groups.ensureDefault(project));
        }
        List<Port.AddressPair> pairs = req.allowedAddressPairs() == null ? List.of() : req.allowedAddressPairs();
        for (Port.AddressPair ap : pairs) {
            try {
                if (ap.ipAddress().contains("/")) {
                    Ipv4.Cidr.parse(ap.ipAddress(), false);
                } else {
                    Ipv4.parse(ap.ipAddress());
                }
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("Invalid input for allowed_address_pairs. Reason: " + e.getMessage() + ".").withType("InvalidInput");
            }
            if (ap.macAddress() != null && !MAC.matcher(ap.macAddress()).matches()) {
                throw ApiException.badRequest("Invalid input for allowed_address_pairs. Reason: '" + ap.macAddress()
                        + "' is not a valid MAC address.").withType("InvalidInput");
            }
        }
        String portId = Ids.newId();
        var chosen = new ArrayList<IpAllocation>();
        var avoidLongs = new HashSet<Long>();
        for (String a : avoid) {
            avoidLongs.add(Ipv4.parse(a));
        }
        List<Subnet> onNet = network.subnetsOf(n.id());
        if (req.fixedIps() == null) {
            if (!onNet.isEmpty()) {
                String ip = null;
                for (Subnet s : onNet) {
                    ip = Ipam.pick(s, Ipam.allocated(res, s.id()), avoidLongs);
                    if (ip != null) {
                        chosen.add(new IpAllocation(s.id(), ip, portId));
                        break;
                    }
                }
                if (ip == null) {
                    throw ApiException.conflict("No more IP addresses available on network " + n.id() + ".")
                            .withType("IpAddressGenerationFailure");
                }
            }
        } else {
            for (FixedIpRequest f : req.fixedIps()) {
                Subnet s;
                if (f.subnetId() != null) {
                    s = onNet.stream().filter(x -> x.id().equals(f.subnetId())).findFirst().orElseThrow(() -> ApiException.badRequest(
                            "Invalid input for operation: Failed to create port on network " + n.id() + ", because fixed_ips included "
                                    + "invalid subnet " + f.subnetId() + ".").withType("InvalidInput"));
                } else if (f.ipAddress() != null) {
                    long ip = SubnetRules.address("fixed_ips", f.ipAddress());
                    s = onNet.stream().filter(x -> Ipv4.Cidr.parse(x.cidr(), false).contains(ip)).findFirst()
                            .orElseThrow(() -> NetworkErrors.invalid("IP address " + f.ipAddress() + " is not a valid IP for any of the "
                                    + "subnets on the specified network."));
                } else {
                    throw NetworkErrors.invalid("A fixed IP needs a subnet_id or an ip_address.");
                }
                String ip;
                if (f.ipAddress() != null) {
                    long v = SubnetRules.address("fixed_ips", f.ipAddress());
                    Ipv4.Cidr c = Ipv4.Cidr.parse(s.cidr(), false);
                    if (!c.contains(v) || (c.prefix() < 31 && (v == c.network() || v == c.broadcast()))) {
                        throw NetworkErrors.invalid("IP address " + f.ipAddress() + " is not a valid IP for the specified subnet.");
                    }
                    ip = Ipv4.format(v);
                    boolean routerPort = req.deviceOwner() != null && req.deviceOwner().startsWith("network:router");
                    if (ip.equals(s.gatewayIp()) && !routerPort) {
                        throw ApiException.conflict("IP address " + ip + " is the gateway of subnet " + s.id() + ".")
                                .withType("IpAddressAlreadyAllocated");
                    }
                    if (res.ipAllocations().get(IpAllocation.key(s.id(), ip)).isPresent() || avoid.contains(ip)) {
                        throw ipInUse(ip, s.id());
                    }
                } else {
                    var taken = Ipam.allocated(res, s.id());
                    chosen.forEach(c -> taken.add(Ipv4.parse(c.ipAddress())));
                    ip = Ipam.pick(s, taken, avoidLongs);
                    if (ip == null) {
                        throw ApiException.conflict("No more IP addresses available on network " + n.id() + ".")
                                .withType("IpAddressGenerationFailure");
                    }
                }
                String finalIp = ip;
                if (chosen.stream().anyMatch(c -> c.subnetId().equals(s.id()) && c.ipAddress().equals(finalIp))) {
                    throw NetworkErrors.invalid("Duplicate IP address '" + ip + "'.");
                }
                chosen.add(new IpAllocation(s.id(), ip, portId));
            }
        }
        Instant now = res.clock().now();
        var fixed = chosen.stream().map(a -> new Port.FixedIp(a.subnetId(), a.ipAddress())).toList();
        var port = new Port(portId, project, n.id(), req.name(), req.description(), req.adminStateUp() == null || req.adminStateUp(), mac,
                fixed, req.deviceOwner(), req.deviceId(), sgs, portSecurity, pairs, req.hostId(), "DOWN", now, now, 0);
        return new PreparedPort(port, chosen, net);
    }

    private boolean macTaken(String networkId, String mac) {
        return macs.get(MacAllocation.key(networkId, mac)).isPresent();
    }

    static String randomMac() {
        var r = ThreadLocalRandom.current();
        return String.format("fa:16:3e:%02x:%02x:%02x", r.nextInt(256), r.nextInt(256), r.nextInt(256));
    }

    public record PortUpdate(String name, String description, Boolean adminStateUp, List<String> securityGroups,
                             Boolean portSecurityEnabled, List<Port.AddressPair> allowedAddressPairs, List<FixedIpRequest> fixedIps,
                             String deviceOwner, String deviceId, String macAddress, String hostId) {
    }

    public Port updatePort(AuthContext ctx, String id, PortUpdate u) {
        Policy.requireMember(ctx, "update_port");
        if (u.hostId() != null && !ctx.isAdmin()) {
            throw NetworkErrors.forbidden("update_port:binding:host_id");
        }
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Port> cur = network.visiblePort(ctx, id);
            Port p = cur.value();
            if (u.macAddress() != null && !u.macAddress().equalsIgnoreCase(p.macAddress())) {
                throw ApiException.conflict("Unable to complete operation on port " + id + ": the MAC address of a port cannot change.")
                        .withType("PortBound");
            }
            boolean portSecurity = u.portSecurityEnabled() == null ? p.portSecurityEnabled() : u.portSecurityEnabled();
            List<String> sgs = u.securityGroups() == null ? p.securityGroups() : groups.resolve(ctx, u.securityGroups());
            List<Port.AddressPair> pairs = u.allowedAddressPairs() == null ? p.allowedAddressPairs() : u.allowedAddressPairs();
            if (!portSecurity && u.securityGroups() == null && u.portSecurityEnabled() != null && !p.securityGroups().isEmpty()) {
                throw ApiException.conflict("Port has security group associated. Cannot disable port security or ip address until "
                        + "security group is removed.").withType("PortSecurityPortHasSecurityGroup");
            }
            if (!portSecurity && !sgs.isEmpty()) {
                throw ApiException.badRequest("Port has security group associated. Cannot disable port security or ip address until "
                        + "security group is removed.").withType("PortSecurityAndIPRequiredForSecurityGroups");
            }
            if (!portSecurity && !pairs.isEmpty()) {
                throw ApiException.conflict("Port Security must be enabled in order to have allowed address pairs on a port.")
                        .withType("AddressPairAndPortSecurityRequired");
            }
            var txn = Txn.builder().when(ports.unchanged(id, cur.revision()));
            List<Port.FixedIp> fixed = p.fixedIps();
            if (u.fixedIps() != null) {
                var req = new PortRequest(p.networkId(), null, null, null, p.macAddress(), u.fixedIps(), p.deviceOwner(), null, List.of(),
                        false, null, null, p.projectId());
                // keep the addresses the port already holds and asks for again
                var keep = new ArrayList<Port.FixedIp>();
                var fresh = new ArrayList<FixedIpRequest>();
                for (FixedIpRequest f : u.fixedIps()) {
                    var held = p.fixedIps().stream().filter(x -> x.ipAddress().equals(f.ipAddress())
                            && (f.subnetId() == null || f.subnetId().equals(x.subnetId()))).findFirst();
                    if (held.isPresent()) {
                        keep.add(held.get());
                    } else {
                        fresh.add(f);
                    }
                }
                List<IpAllocation> added = List.of();
                if (!fresh.isEmpty()) {
                    PreparedPort prep = preparePortAllowingMac(ctx, new PortRequest(req.networkId(), null, null, null, null, fresh,
                            p.deviceOwner(), null, List.of(), false, null, null, p.projectId()));
                    added = prep.ips().stream().map(a -> new IpAllocation(a.subnetId(), a.ipAddress(), id)).toList();
                }
                for (Port.FixedIp old : p.fixedIps()) {
                    if (!keep.contains(old)) {
                        txn.onSuccess(ips.deleteOp(IpAllocation.key(old.subnetId(), old.ipAddress())));
                    }
                }
                for (IpAllocation a : added) {
                    txn.when(ips.absent(a.key())).onSuccess(ips.put(a));
                }
                var next = new ArrayList<>(keep);
                added.forEach(a -> next.add(new Port.FixedIp(a.subnetId(), a.ipAddress())));
                fixed = next;
            }
            Port next = p.withDetails(u.name() == null ? p.name() : u.name(), u.description() == null ? p.description() : u.description(),
                    u.adminStateUp() == null ? p.adminStateUp() : u.adminStateUp(), sgs, portSecurity, pairs, fixed, res.clock().now());
            if (u.deviceOwner() != null || u.deviceId() != null || u.hostId() != null) {
                next = next.withDevice(u.deviceOwner() == null ? p.deviceOwner() : u.deviceOwner(),
                        u.deviceId() == null ? p.deviceId() : u.deviceId(), u.hostId() == null ? p.hostId() : u.hostId(), res.clock().now());
            }
            txn.onSuccess(ports.put(next));
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return next;
            }
        }
        throw NetworkErrors.busy("Port " + id);
    }

    /** Picks addresses for an existing port (the MAC is its own, so it is not checked). */
    private PreparedPort preparePortAllowingMac(AuthContext ctx, PortRequest req) {
        return preparePort(ctx, new PortRequest(req.networkId(), null, null, null, null, req.fixedIps(), req.deviceOwner(), null, List.of(),
                false, null, null, req.projectId()), req.projectId(), Set.of());
    }

    public void deletePort(AuthContext ctx, String id) {
        Policy.requireMember(ctx, "delete_port");
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Port> cur = network.visiblePort(ctx, id);
            Port p = cur.value();
            if (p.deviceOwner().equals(Port.OWNER_ROUTER_INTERFACE) || p.deviceOwner().equals(Port.OWNER_ROUTER_GATEWAY)
                    || p.deviceOwner().equals(Port.OWNER_FLOATING_IP)) {
                throw ApiException.conflict("Port " + id + " cannot be deleted directly via the port API: has device owner "
                        + p.deviceOwner() + ".").withType("ServicePortInUse");
            }
            var txn = Txn.builder().when(ports.unchanged(id, cur.revision()));
            releaseOps(p, txn);
            if (Port.OWNER_COMPUTE.equals(p.deviceOwner())) {
                // the guest loses the NIC too, as Nova does when Neutron deletes a bound port
                var server = res.servers().get(p.deviceId());
                if (server.isPresent() && server.get().value().spec().nics().stream().anyMatch(n -> n.portId().equals(id))) {
                    var s = server.get().value();
                    var nics = s.spec().nics().stream().filter(n -> !n.portId().equals(id)).toList();
                    var serverRepo = res.repo(io.halcyon.runtime.Kinds.SERVERS);
                    txn.when(serverRepo.unchanged(s.id(), server.get().revision()))
                            .onSuccess(serverRepo.put(s.withSpec(s.spec().withNics(nics))));
                }
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=port_deleted port_id={}", id);
                return;
            }
        }
        throw NetworkErrors.busy("Port " + id);
    }

    /** Deletes the port with its MAC and addresses, and lets go of floating IPs that pointed at it. */
    public void releaseOps(Port p, Txn.Builder txn) {
        txn.onSuccess(ports.deleteOp(p.id()), macs.deleteOp(MacAllocation.key(p.networkId(), p.macAddress())));
        for (Port.FixedIp f : p.fixedIps()) {
            txn.onSuccess(ips.deleteOp(IpAllocation.key(f.subnetId(), f.ipAddress())));
        }
        Instant now = res.clock().now();
        for (Versioned<FloatingIp> f : res.floatingIps().byIndex(Resources.BY_PORT, p.id())) {
            txn.when(floatingIps.unchanged(f.value().id(), f.revision()))
                    .onSuccess(floatingIps.put(f.value().associate(null, null, null, now)));
        }
    }

    /** Refuses {@code more} new ports past the project's quota. */
    public void checkPortQuota(String project, int more) {
        quotas.check(project, "port", more);
    }

    public Repository<Port> portRepo() {
        return ports;
    }

}
