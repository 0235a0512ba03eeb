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

import static java.util.Objects.requireNonNull;

/**
 * Neutron's networks and subnets, and who sees them ({@link PortService} has the ports). Every
 * write is one compare-and-swap transaction: a network with its segment, guarded by an "absent"
 * compare on the segment's key, so concurrent requests never share a segment; the loser of a race
 * picks again (or answers 409 when the caller named the taken value).
 */
public final class NetworkService {
    private static final Logger log = LoggerFactory.getLogger(NetworkService.class);
    private static final int ATTEMPTS = 50;

    private final Resources res;
    private final NetworkSettings settings;
    private final NetworkQuotas quotas;
    private final SecurityGroupService groups;
    private final Repository<Network> networks;
    private final Repository<Subnet> subnets;
    private final Repository<Port> ports;
    private final Repository<SegmentAllocation> segments;
    private final Repository<FloatingIp> floatingIps;
    private final PortService portService;

    public NetworkService(Resources res, NetworkSettings settings, NetworkQuotas quotas, SecurityGroupService groups) {
        this.res = requireNonNull(res, "res is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.groups = requireNonNull(groups, "groups is null");
        this.networks = res.repo(Kinds.NETWORKS);
        this.subnets = res.repo(Kinds.SUBNETS);
        this.ports = res.repo(Kinds.PORTS);
        this.segments = res.repo(Kinds.SEGMENTS);
        this.floatingIps = res.repo(Kinds.FLOATING_IPS);
        this.portService = new PortService(this, res, settings, quotas, groups);
    }

    /** Ports: creating, updating and deleting them with their MACs and addresses. */
    public PortService ports() {
        return portService;
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
