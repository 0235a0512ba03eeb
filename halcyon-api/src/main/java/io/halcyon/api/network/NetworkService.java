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
import io.halcyon.model.network.SegmentAllocation;
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
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * Neutron's networks, subnets and ports. Every write is one compare-and-swap transaction: a
 * network with its segment, a port with its MAC and each of its addresses, each of those guarded
 * by an "absent" compare on its own key. So concurrent requests never share a segment, a MAC or an
 * IP; the loser of a race sees the conflict and picks again (or answers 409 when the caller named
 * the taken value).
 */
public final class NetworkService {
    private static final Logger log = LoggerFactory.getLogger(NetworkService.class);
    private static final Pattern MAC = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
    private static final int ATTEMPTS = 50;

    private final Resources res;
    private final NetworkSettings settings;
    private final NetworkQuotas quotas;
    private final SecurityGroupService groups;
    private final Repository<Network> networks;
    private final Repository<Subnet> subnets;
    private final Repository<Port> ports;
    private final Repository<IpAllocation> ips;
    private final Repository<MacAllocation> macs;
    private final Repository<SegmentAllocation> segments;
    private final Repository<FloatingIp> floatingIps;

    public NetworkService(Resources res, NetworkSettings settings, NetworkQuotas quotas, SecurityGroupService groups) {
        this.res = requireNonNull(res, "res is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.groups = requireNonNull(groups, "groups is null");
        this.networks = res.repo(Kinds.NETWORKS);
        this.subnets = res.repo(Kinds.SUBNETS);
        this.ports = res.repo(Kinds.PORTS);
        this.ips = res.repo(Kinds.IP_ALLOCATIONS);
        this.macs = res.repo(Kinds.MAC_ALLOCATIONS);
        this.segments = res.repo(Kinds.SEGMENTS);
        this.floatingIps = res.repo(Kinds.FLOATING_IPS);
    }

    public Resources resources() {
        return res;
    }

    public NetworkSettings settings() {
        return settings;
    }

    public SecurityGroupService groups() {
        return groups;
    }

    // ---- visibility ----------------------------------------------------------------------------

    static boolean canSee(AuthContext ctx, Network n) {
        return ctx.isAdmin() || n.projectId().equals(ctx.projectId()) || n.shared() || n.external();
    }

    public Versioned<Network> visibleNetwork(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "get_network");
        res.sync();
        return res.networks().get(id).filter(v -> canSee(ctx, v.value())).orElseThrow(() -> NetworkErrors.networkNotFound(id));
    }

    /** A network the caller may change: its own (or any, for an admin); others' visible ones answer 403. */
    Versioned<Network> ownNetwork(AuthContext ctx, String id, String action) {
        Versioned<Network> v = visibleNetwork(ctx, id);
        if (!ctx.isAdmin() && !v.value().projectId().equals(ctx.projectId())) {
            throw NetworkErrors.forbidden(action);
        }
        return v;
    }

    public Versioned<Subnet> visibleSubnet(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "get_subnet");
        res.sync();
        return res.subnets().get(id).filter(s -> ctx.isAdmin() || s.value().projectId().equals(ctx.projectId())
                || res.networks().get(s.value().networkId()).map(n -> canSee(ctx, n.value())).orElse(false))
                .orElseThrow(() -> NetworkErrors.subnetNotFound(id));
    }

    public Versioned<Port> visiblePort(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "get_port");
        res.sync();
        return res.ports().get(id).filter(p -> ctx.isAdmin() || p.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> NetworkErrors.portNotFound(id));
    }

    public List<Network> listNetworks(AuthContext ctx) {
        Policy.requireReader(ctx, "get_network");
        res.sync();
        return res.networks().list().stream().map(Versioned::value).filter(n -> canSee(ctx, n))
                .sorted(Comparator.comparing(Network::createdAt).thenComparing(Network::id)).toList();
    }

    public List<Subnet> listSubnets(AuthContext ctx) {
        Policy.requireReader(ctx, "get_subnet");
        res.sync();
        return res.subnets().list().stream().map(Versioned::value)
                .filter(s -> ctx.isAdmin() || s.projectId().equals(ctx.projectId())
                        || res.networks().get(s.networkId()).map(n -> canSee(ctx, n.value())).orElse(false))
                .sorted(Comparator.comparing(Subnet::createdAt).thenComparing(Subnet::id)).toList();
    }

    public List<Port> listPorts(AuthContext ctx) {
        Policy.requireReader(ctx, "get_port");
        res.sync();
        var all = ctx.isAdmin() ? res.ports().list() : res.ports().byIndex(Resources.BY_PROJECT, ctx.projectId());
        return all.stream().map(Versioned::value).sorted(Comparator.comparing(Port::createdAt).thenComparing(Port::id)).toList();
    }

    public List<Subnet> subnetsOf(String networkId) {
        return res.subnets().byIndex(Resources.BY_NETWORK, networkId).stream().map(Versioned::value)
                .sorted(Comparator.comparing(Subnet::createdAt).thenComparing(Subnet::id)).toList();
    }

    // ---- networks ------------------------------------------------------------------------------

    public record NetworkRequest(String name, String description, Boolean adminStateUp, Boolean shared, Boolean external,
                                 String networkType, String physicalNetwork, Integer segmentationId, Integer mtu,
                                 Boolean portSecurityEnabled, String projectId) {
    }

    public Network createNetwork(AuthContext ctx, NetworkRequest req) {
        Policy.requireMember(ctx, "create_network");
        boolean providerAsked = req.networkType() != null || req.physicalNetwork() != null || req.segmentationId() != null;
        if (providerAsked && !ctx.isAdmin()) {
            throw NetworkErrors.forbidden("create_network:provider:network_type");
        }
        if (Boolean.TRUE.equals(req.shared()) && !ctx.isAdmin()) {
            throw NetworkErrors.forbidden("create_network:shared");
        }
        if (Boolean.TRUE.equals(req.external()) && !ctx.isAdmin()) {
            throw NetworkErrors.forbidden("create_network:router:external");
        }
        String project = req.projectId() != null && ctx.isAdmin() ? req.projectId() : ctx.projectId();
        String type = req.networkType() == null ? Network.GENEVE : req.networkType();
        String physnet = req.physicalNetwork();
        Integer segment = req.segmentationId();
        switch (type) {
            case Network.GENEVE -> {
                if (physnet != null) {
                    throw NetworkErrors.invalid("provider:physical_network specified for geneve network.");
                }
                if (segment != null && (segment < settings.vniMin() || segment > settings.vniMax())) {
                    throw NetworkErrors.invalid("provider:segmentation_id " + segment + " is outside the Geneve VNI range "
                            + settings.vniMin() + "-" + settings.vniMax() + ".");
                }
            }
            case Network.FLAT -> {
                requirePhysnet(physnet, type);
                if (segment != null) {
                    throw NetworkErrors.invalid("provider:segmentation_id specified for flat network.");
                }
            }
            case Network.VLAN -> {
                requirePhysnet(physnet, type);
                if (segment == null) {
                    throw NetworkErrors.invalid("provider:segmentation_id required for VLAN provider network.");
                }
                if (segment < 1 || segment > 4094) {
                    throw NetworkErrors.invalid("provider:segmentation_id out of range (1 through 4094).");
                }
            }
            default -> throw NetworkErrors.invalid("network_type value '" + type + "' not supported (geneve, flat or vlan).");
        }
        int maxMtu = Network.GENEVE.equals(type) ? settings.overlayMtu() : settings.providerMtu();
        if (req.mtu() != null && (req.mtu() < 68 || req.mtu() > maxMtu)) {
            throw NetworkErrors.invalid("Requested MTU is too big, maximum is " + maxMtu + ".");
        }
        int mtu = req.mtu() == null ? maxMtu : req.mtu();
        quotas.check(project, "network", 1);
        Instant now = res.clock().now();
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            res.sync();
            String key;
            Integer seg = segment;
            if (Network.GENEVE.equals(type)) {
                if (seg == null) {
                    seg = freeVni();
                    if (seg == null) {
                        throw ApiException.unavailable("Unable to create the network. No tenant network is available for allocation.")
                                .withType("NoNetworkAvailable");
                    }
                }
                key = SegmentAllocation.geneve(seg);
            } else if (Network.VLAN.equals(type)) {
                key = SegmentAllocation.vlan(physnet, seg);
            } else {
                key = SegmentAllocation.flat(physnet);
            }
            Optional<Versioned<SegmentAllocation>> held = res.segments().get(SegmentAllocation.id(key));
            if (held.isPresent()) {
                if (segment != null || !Network.GENEVE.equals(type)) {
                    throw segmentInUse(type, physnet, seg);
                }
                continue;
            }
            var n = new Network(Ids.newId(), project, req.name(), req.description(), req.adminStateUp() == null || req.adminStateUp(),
                    Boolean.TRUE.equals(req.shared()), Boolean.TRUE.equals(req.external()), type, physnet, seg, mtu,
                    req.portSecurityEnabled() == null || req.portSecurityEnabled(), now, now, 0);
            TxnResult r = res.store().txn(Txn.builder().when(networks.absent(n.id()), segments.absent(SegmentAllocation.id(key)))
                    .onSuccess(networks.put(n), segments.put(new SegmentAllocation(key, n.id()))).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=network_created network_id={} project_id={} type={} segment={}", n.id(), project, type, seg);
                return n;
            }
            if (segment != null || !Network.GENEVE.equals(type)) {
                res.sync();
                if (res.segments().get(SegmentAllocation.id(key)).isPresent()) {
                    throw segmentInUse(type, physnet, seg);
                }
            }
        }
        throw NetworkErrors.busy("The network segments");
    }

    private void requirePhysnet(String physnet, String type) {
        if (physnet == null) {
            throw NetworkErrors.invalid("provider:physical_network required for " + type + " provider network.");
        }
        if (!settings.physicalNetworks().contains(physnet)) {
            throw NetworkErrors.invalid("physical_network '" + physnet + "' unknown for " + type + " provider network (known: "
                    + String.join(", ", settings.physicalNetworks()) + ").");
        }
    }

    private static ApiException segmentInUse(String type, String physnet, Integer seg) {
        return switch (type) {
            case Network.VLAN -> ApiException.conflict("Unable to create the network. The VLAN " + seg + " on physical network "
                    + physnet + " is in use.").withType("VlanIdInUse");
            case Network.FLAT -> ApiException.conflict("Unable to create the flat network. Physical network " + physnet
                    + " is in use.").withType("FlatNetworkInUse");
            default -> ApiException.conflict("Unable to create the network. The tunnel ID " + seg + " is in use.").withType("TunnelIdInUse");
        };
    }

    private Integer freeVni() {
        var used = new HashSet<Integer>();
        for (var s : res.segments().list()) {
            String k = s.value().key();
            if (k.startsWith("geneve:")) {
                used.add(Integer.parseInt(k.substring(7)));
            }
        }
        for (int v = settings.vniMin(); v <= settings.vniMax(); v++) {
            if (!used.contains(v)) {
                return v;
            }
        }
        return null;
    }

    public Network updateNetwork(AuthContext ctx, String id, String name, String description, Boolean up, Boolean shared, Boolean external,
                                 Integer mtu, Boolean portSecurity) {
        if ((shared != null || external != null) && !ctx.isAdmin()) {
            throw NetworkErrors.forbidden(shared != null ? "update_network:shared" : "update_network:router:external");
        }
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Network> cur = ownNetwork(ctx, id, "update_network");
            Network n = cur.value();
            int maxMtu = n.provider() ? settings.providerMtu() : settings.overlayMtu();
            if (mtu != null && (mtu < 68 || mtu > maxMtu)) {
                throw NetworkErrors.invalid("Requested MTU is too big, maximum is " + maxMtu + ".");
            }
            if (Boolean.FALSE.equals(external) && n.external() && !res.floatingIps().list().stream()
                    .filter(f -> f.value().floatingNetworkId().equals(id)).toList().isEmpty()) {
                throw ApiException.conflict("Unable to complete operation on network " + id + ". Floating IPs still use it.")
                        .withType("NetworkInUse");
            }
            Network next = n.withDetails(name == null ? n.name() : name, description == null ? n.description() : description,
                    up == null ? n.adminStateUp() : up, shared == null ? n.shared() : shared, external == null ? n.external() : external,
                    portSecurity == null ? n.portSecurityEnabled() : portSecurity, mtu, res.clock().now());
            TxnResult r = res.store().txn(Txn.builder().when(networks.unchanged(id, cur.revision())).onSuccess(networks.put(next)).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return next;
            }
        }
        throw NetworkErrors.busy("Network " + id);
    }

    public void deleteNetwork(AuthContext ctx, String id) {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Network> cur = ownNetwork(ctx, id, "delete_network");
            Network n = cur.value();
            var onNet = res.ports().byIndex(Resources.BY_NETWORK, id);
            if (!onNet.isEmpty()) {
                throw ApiException.conflict("Unable to complete operation on network " + id + ". There are one or more ports still in "
                        + "use on the network.").withType("NetworkInUse");
            }
            var txn = Txn.builder().when(networks.unchanged(id, cur.revision())).onSuccess(networks.deleteOp(id));
            for (Versioned<Subnet> s : res.subnets().byIndex(Resources.BY_NETWORK, id)) {
                txn.when(subnets.unchanged(s.value().id(), s.revision())).onSuccess(subnets.deleteOp(s.value().id()));
            }
            res.segments().list().stream().filter(s -> s.value().networkId().equals(id))
                    .forEach(s -> txn.onSuccess(segments.deleteOp(SegmentAllocation.id(s.value().key()))));
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=network_deleted network_id={}", n.id());
                return;
            }
        }
        throw NetworkErrors.busy("Network " + id);
    }

    // ---- subnets -------------------------------------------------------------------------------

    public record SubnetRequest(String networkId, String name, String description, Integer ipVersion, String cidr, boolean gatewayGiven,
                                String gatewayIp, List<Subnet.AllocationPool> allocationPools, List<String> dnsNameservers,
                                List<Subnet.HostRoute> hostRoutes, Boolean enableDhcp, String projectId) {
    }

    public Subnet createSubnet(AuthContext ctx, SubnetRequest req) {
        Policy.requireMember(ctx, "create_subnet");
        if (req.networkId() == null) {
            throw NetworkErrors.invalid("network_id is required.");
        }
        Versioned<Network> net = visibleNetwork(ctx, req.networkId());
        if (!ctx.isAdmin() && !net.value().projectId().equals(ctx.projectId())) {
            throw NetworkErrors.forbidden("create_subnet:network");
        }
        int version = req.ipVersion() == null ? 4 : req.ipVersion();
        if (version == 6) {
            throw NetworkErrors.invalid("IPv6 subnets are not supported by this Halcyon release.");
        }
        if (version != 4) {
            throw NetworkErrors.invalid("ip_version must be 4 or 6.");
        }
        if (req.cidr() == null) {
            throw ApiException.badRequest("Bad subnet request: a cidr must be specified in the absence of a subnet pool.").withType("BadRequest");
        }
        Ipv4.Cidr cidr = SubnetRules.cidr(req.cidr());
        if (cidr.prefix() == 0) {
            throw NetworkErrors.invalid("0.0.0.0/0 is not allowed as a subnet CIDR.");
        }
        String gateway = req.gatewayGiven() ? req.gatewayIp() : (cidr.prefix() >= 31 ? null : Ipv4.format(cidr.firstHost()));
        if (gateway != null) {
            SubnetRules.checkGateway(cidr, gateway);
        }
        List<Subnet.AllocationPool> pools = req.allocationPools() == null ? SubnetRules.defaultPools(cidr, gateway) : req.allocationPools();
        SubnetRules.checkPools(cidr, pools, gateway);
        List<String> dns = req.dnsNameservers() == null ? List.of() : req.dnsNameservers();
        SubnetRules.checkDns(dns);
        List<Subnet.HostRoute> routes = req.hostRoutes() == null ? List.of() : req.hostRoutes();
        SubnetRules.checkRoutes(routes);
        String project = req.projectId() != null && ctx.isAdmin() ? req.projectId() : ctx.projectId();
        quotas.check(project, "subnet", 1);
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            res.sync();
            Versioned<Network> cur = res.networks().get(req.networkId()).orElseThrow(() -> NetworkErrors.networkNotFound(req.networkId()));
            for (Subnet other : subnetsOf(req.networkId())) {
                if (Ipv4.Cidr.parse(other.cidr(), false).overlaps(cidr)) {
                    throw NetworkErrors.invalid("Requested subnet with cidr: " + cidr + " for network: " + req.networkId()
                            + " overlaps with another subnet.");
                }
            }
            Instant now = res.clock().now();
            var s = new Subnet(Ids.newId(), project, req.networkId(), req.name(), req.description(), 4, cidr.toString(), gateway, pools,
                    dns, routes, req.enableDhcp() == null || req.enableDhcp(), now, now, 0);
            var txn = Txn.builder().when(subnets.absent(s.id()), networks.unchanged(cur.value().id(), cur.revision()))
                    .onSuccess(subnets.put(s));
            // the network's revision guards against a concurrent overlapping subnet: each bumps it
            txn.onSuccess(networks.put(cur.value().withDetails(cur.value().name(), cur.value().description(), cur.value().adminStateUp(),
                    cur.value().shared(), cur.value().external(), cur.value().portSecurityEnabled(), null, cur.value().updatedAt())));
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=subnet_created subnet_id={} network_id={} cidr={}", s.id(), s.networkId(), s.cidr());
                return s;
            }
        }
        throw NetworkErrors.busy("Network " + req.networkId());
    }

    public Subnet updateSubnet(AuthContext ctx, String id, String name, String description, boolean gatewayGiven, String gatewayIp,
                               List<String> dns, List<Subnet.HostRoute> routes, Boolean dhcp, List<Subnet.AllocationPool> pools) {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Subnet> cur = visibleSubnet(ctx, id);
            Subnet s = cur.value();
            if (!ctx.isAdmin() && !s.projectId().equals(ctx.projectId())) {
                throw NetworkErrors.forbidden("update_subnet");
            }
            Ipv4.Cidr cidr = Ipv4.Cidr.parse(s.cidr(), false);
            String gateway = gatewayGiven ? gatewayIp : s.gatewayIp();
            if (gatewayGiven && gateway != null) {
                SubnetRules.checkGateway(cidr, gateway);
            }
            List<Subnet.AllocationPool> newPools = pools == null ? s.allocationPools() : pools;
            SubnetRules.checkPools(cidr, newPools, gateway);
            if (dns != null) {
                SubnetRules.checkDns(dns);
            }
            if (routes != null) {
                SubnetRules.checkRoutes(routes);
            }
            if (gatewayGiven && gateway != null && !gateway.equals(s.gatewayIp())) {
                var holder = res.ipAllocations().get(IpAllocation.key(id, gateway));
                if (holder.isPresent()) {
                    throw ApiException.conflict("Gateway ip " + gateway + " is already allocated to port " + holder.get().value().portId() + ".")
                            .withType("IpAddressAlreadyAllocated");
                }
            }
            Subnet next = s.withDetails(name == null ? s.name() : name, description == null ? s.description() : description, gateway,
                    dns == null ? s.dnsNameservers() : dns, routes == null ? s.hostRoutes() : routes, dhcp == null ? s.enableDhcp() : dhcp,
                    newPools, res.clock().now());
            TxnResult r = res.store().txn(Txn.builder().when(subnets.unchanged(id, cur.revision())).onSuccess(subnets.put(next)).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                return next;
            }
        }
        throw NetworkErrors.busy("Subnet " + id);
    }

    public void deleteSubnet(AuthContext ctx, String id) {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Subnet> cur = visibleSubnet(ctx, id);
            if (!ctx.isAdmin() && !cur.value().projectId().equals(ctx.projectId())) {
                throw NetworkErrors.forbidden("delete_subnet");
            }
            if (!res.ipAllocations().byIndex(Resources.BY_SUBNET, id).isEmpty()) {
                throw ApiException.conflict("Unable to complete operation on subnet " + id + ": One or more ports have an IP allocation "
                        + "from this subnet.").withType("SubnetInUse");
            }
            TxnResult r = res.store().txn(Txn.builder().when(subnets.unchanged(id, cur.revision())).onSuccess(subnets.deleteOp(id)).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=subnet_deleted subnet_id={}", id);
                return;
            }
        }
        throw NetworkErrors.busy("Subnet " + id);
    }

    // ---- ports ---------------------------------------------------------------------------------

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
        public void addTo(Txn.Builder txn, NetworkService svc) {
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
        Versioned<Network> net = visibleNetwork(ctx, req.networkId());
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
        List<Subnet> onNet = subnetsOf(n.id());
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
            Versioned<Port> cur = visiblePort(ctx, id);
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
            Versioned<Port> cur = visiblePort(ctx, id);
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

    /** Filters as Neutron's list calls take them: exact matches on the named attributes. */
    public static <T> List<T> filter(List<T> items, Map<String, List<String>> query, Map<String, java.util.function.Function<T, Object>> attrs) {
        var out = new ArrayList<T>();
        outer:
        for (T item : items) {
            for (var e : attrs.entrySet()) {
                List<String> wanted = query.get(e.getKey());
                if (wanted == null || wanted.isEmpty()) {
                    continue;
                }
                Object v = e.getValue().apply(item);
                boolean any = false;
                for (String w : wanted) {
                    if (v instanceof java.util.Collection<?> c ? c.stream().anyMatch(x -> String.valueOf(x).equalsIgnoreCase(w))
                            : String.valueOf(v).equalsIgnoreCase(w)) {
                        any = true;
                        break;
                    }
                }
                if (!any) {
                    continue outer;
                }
            }
            out.add(item);
        }
        return out;
    }

    static Map<String, Object> linked() {
        return new LinkedHashMap<>();
    }
}
