package io.halcyon.api.network;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.model.Ids;
import io.halcyon.model.network.FloatingIp;
import io.halcyon.model.network.IpAllocation;
import io.halcyon.model.network.Ipv4;
import io.halcyon.model.network.Network;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.Router;
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
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * Neutron's routers and floating IPs. A router's interfaces and its external gateway are ports
 * (owned by the router), and a floating IP's address is held by a port on the external network, so
 * IPAM and the data plane treat them like any other port.
 */
public final class RouterService {
    private static final Logger log = LoggerFactory.getLogger(RouterService.class);
    private static final int ATTEMPTS = 30;

    private final Resources res;
    private final NetworkService net;
    private final NetworkQuotas quotas;
    private final Repository<Router> routers;
    private final Repository<FloatingIp> fips;
    private final Repository<Port> ports;

    public RouterService(Resources res, NetworkService net, NetworkQuotas quotas) {
        this.res = requireNonNull(res, "res is null");
        this.net = requireNonNull(net, "net is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.routers = res.repo(Kinds.ROUTERS);
        this.fips = res.repo(Kinds.FLOATING_IPS);
        this.ports = res.repo(Kinds.PORTS);
    }

    public Versioned<Router> visible(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "get_router");
        res.sync();
        return res.routers().get(id).filter(r -> ctx.isAdmin() || r.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> NetworkErrors.routerNotFound(id));
    }

    public List<Router> list(AuthContext ctx) {
        Policy.requireReader(ctx, "get_router");
        res.sync();
        var all = ctx.isAdmin() ? res.routers().list() : res.routers().byIndex(Resources.BY_PROJECT, ctx.projectId());
        return all.stream().map(Versioned::value).sorted(Comparator.comparing(Router::createdAt).thenComparing(Router::id)).toList();
    }

    /** The router's ports: its interfaces, and its gateway port. */
    public List<Port> portsOf(String routerId) {
        return res.ports().byIndex(Resources.BY_DEVICE, routerId).stream().map(Versioned::value)
                .filter(p -> p.deviceOwner().equals(Port.OWNER_ROUTER_INTERFACE) || p.deviceOwner().equals(Port.OWNER_ROUTER_GATEWAY))
                .sorted(Comparator.comparing(Port::createdAt).thenComparing(Port::id)).toList();
    }

    public Optional<Port> gatewayPort(String routerId) {
        return portsOf(routerId).stream().filter(p -> p.deviceOwner().equals(Port.OWNER_ROUTER_GATEWAY)).findFirst();
    }

    private Versioned<Network> externalNetwork(AuthContext ctx, String id, String what) {
        Versioned<Network> n = res.networks().get(id).filter(v -> NetworkService.canSee(ctx, v.value()))
                .orElseThrow(() -> NetworkErrors.networkNotFound(id));
        if (!n.value().external()) {
            throw ApiException.badRequest("Bad " + what + " request: Network " + id + " is not a valid external network.")
                    .withType("BadRequest");
        }
        return n;
    }

    public Router create(AuthContext ctx, String name, String description, Boolean up, String gatewayNetwork, Boolean enableSnat) {
        Policy.requireMember(ctx, "create_router");
        if (Boolean.FALSE.equals(enableSnat) && !ctx.isAdmin()) {
            throw NetworkErrors.forbidden("create_router:external_gateway_info:enable_snat");
        }
        quotas.check(ctx.projectId(), "router", 1);
        res.sync();
        if (gatewayNetwork != null) {
            externalNetwork(ctx, gatewayNetwork, "router");
        }
        Instant now = res.clock().now();
        var r = new Router(Ids.newId(), ctx.projectId(), name, description, up == null || up, null, true, now, now, 0);
        TxnResult t = res.store().txn(Txn.builder().when(routers.absent(r.id())).onSuccess(routers.put(r)).build());
        res.awaitRevision(t.revision());
        log.info("event=router_created router_id={} project_id={}", r.id(), r.projectId());
        if (gatewayNetwork != null) {
            try {
                return setGateway(ctx, r.id(), gatewayNetwork, enableSnat == null || enableSnat);
            } catch (RuntimeException e) {
                routers.delete(r.id(), res.routers().get(r.id()).map(Versioned::revision).orElse(0L));
                throw e;
            }
        }
        return r;
    }

    public Router update(AuthContext ctx, String id, String name, String description, Boolean up) {
        Policy.requireMember(ctx, "update_router");
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Router> cur = visible(ctx, id);
            Router r = cur.value();
            Router next = r.withDetails(name == null ? r.name() : name, description == null ? r.description() : description,
                    up == null ? r.adminStateUp() : up, res.clock().now());
            TxnResult t = res.store().txn(Txn.builder().when(routers.unchanged(id, cur.revision())).onSuccess(routers.put(next)).build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                return next;
            }
        }
        throw NetworkErrors.busy("Router " + id);
    }

    /** Sets (or, with a null network, clears) the router's external gateway: its port on the external network. */
    public Router setGateway(AuthContext ctx, String id, String networkId, boolean enableSnat) {
        Policy.requireMember(ctx, "update_router:external_gateway_info");
        if (!enableSnat && !ctx.isAdmin()) {
            throw NetworkErrors.forbidden("update_router:external_gateway_info:enable_snat");
        }
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Router> cur = visible(ctx, id);
            Router r = cur.value();
            Optional<Port> gw = gatewayPort(id);
            if (networkId != null) {
                externalNetwork(ctx, networkId, "router");
            }
            boolean changesNetwork = !java.util.Objects.equals(networkId, r.gatewayNetworkId());
            if (changesNetwork && r.gatewayNetworkId() != null && res.floatingIps().list().stream()
                    .anyMatch(f -> id.equals(f.value().routerId()))) {
                throw ApiException.conflict("Gateway cannot be updated for router " + id + ", since a gateway to external network "
                        + r.gatewayNetworkId() + " is required by one or more floating IPs.").withType("RouterExternalGatewayInUseByFloatingIp");
            }
            Instant now = res.clock().now();
            var txn = Txn.builder().when(routers.unchanged(id, cur.revision()))
                    .onSuccess(routers.put(r.withGateway(networkId, networkId != null && enableSnat, now)));
            if (changesNetwork) {
                gw.ifPresent(p -> {
                    var pv = res.ports().get(p.id()).orElseThrow();
                    txn.when(ports.unchanged(p.id(), pv.revision()));
                    net.ports().releaseOps(p, txn);
                });
                if (networkId != null) {
                    var prep = net.ports().preparePort(AuthContext.system(""), new PortService.PortRequest(networkId, "", null, true, null, null,
                            Port.OWNER_ROUTER_GATEWAY, id, List.of(), false, null, null, ""), "", Set.of());
                    prep.addTo(txn, net.ports());
                }
            }
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=router_gateway_set router_id={} network_id={} snat={}", id, networkId, enableSnat);
                return res.routers().get(id).orElseThrow().value();
            }
        }
        throw NetworkErrors.busy("Router " + id);
    }

    public void delete(AuthContext ctx, String id) {
        Policy.requireMember(ctx, "delete_router");
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Router> cur = visible(ctx, id);
            var interfaces = portsOf(id).stream().filter(p -> p.deviceOwner().equals(Port.OWNER_ROUTER_INTERFACE)).toList();
            if (!interfaces.isEmpty()) {
                throw ApiException.conflict("Router " + id + " still has ports").withType("RouterInUse");
            }
            if (res.floatingIps().list().stream().anyMatch(f -> id.equals(f.value().routerId()))) {
                throw ApiException.conflict("Router " + id + " still has floating IPs associated through it").withType("RouterInUse");
            }
            var txn = Txn.builder().when(routers.unchanged(id, cur.revision())).onSuccess(routers.deleteOp(id));
            gatewayPort(id).ifPresent(p -> net.ports().releaseOps(p, txn));
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=router_deleted router_id={}", id);
                return;
            }
        }
        throw NetworkErrors.busy("Router " + id);
    }

    public record Interface(String routerId, String subnetId, String portId, String networkId, String projectId) {
    }

    public Interface addInterface(AuthContext ctx, String id, String subnetId, String portId) {
        Policy.requireMember(ctx, "add_router_interface");
        if ((subnetId == null) == (portId == null)) {
            throw ApiException.badRequest("Bad router request: Either subnet_id or port_id must be specified.").withType("BadRequest");
        }
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Router> cur = visible(ctx, id);
            var existing = portsOf(id).stream().filter(p -> p.deviceOwner().equals(Port.OWNER_ROUTER_INTERFACE)).toList();
            Subnet subnet;
            Port port = null;
            Versioned<Port> portV = null;
            if (subnetId != null) {
                subnet = net.visibleSubnet(ctx, subnetId).value();
                if (subnet.gatewayIp() == null) {
                    throw ApiException.badRequest("Bad router request: Subnet for router interface must have a gateway IP.")
                            .withType("BadRequest");
                }
            } else {
                portV = net.visiblePort(ctx, portId);
                port = portV.value();
                if (!port.deviceId().isEmpty()) {
                    throw ApiException.conflict("Port " + portId + " is already in use by " + port.deviceId() + ".").withType("PortInUse");
                }
                if (port.fixedIps().isEmpty()) {
                    throw ApiException.badRequest("Bad router request: Router port must have at least one fixed IP.").withType("BadRequest");
                }
                String sid = port.fixedIps().get(0).subnetId();
                subnet = res.subnets().get(sid).orElseThrow(() -> NetworkErrors.subnetNotFound(sid)).value();
            }
            Ipv4.Cidr cidr = Ipv4.Cidr.parse(subnet.cidr(), false);
            for (Port p : existing) {
                for (Port.FixedIp f : p.fixedIps()) {
                    if (f.subnetId().equals(subnet.id())) {
                        throw ApiException.badRequest("Bad router request: Router already has a port on subnet " + subnet.id() + ".")
                                .withType("BadRequest");
                    }
                    var other = res.subnets().get(f.subnetId());
                    if (other.isPresent() && Ipv4.Cidr.parse(other.get().value().cidr(), false).overlaps(cidr)) {
                        throw ApiException.badRequest("Bad router request: Cidr " + cidr + " of subnet " + subnet.id() + " overlaps with cidr "
                                + other.get().value().cidr() + " of subnet " + f.subnetId() + ".").withType("BadRequest");
                    }
                }
            }
            Network network = res.networks().get(subnet.networkId()).orElseThrow(() -> NetworkErrors.networkNotFound(subnet.networkId()))
                    .value();
            if (network.external()) {
                throw ApiException.badRequest("Bad router request: an external network's subnet can only be the router's gateway.")
                        .withType("BadRequest");
            }
            Instant now = res.clock().now();
            var txn = Txn.builder().when(routers.unchanged(id, cur.revision()))
                    .onSuccess(routers.put(cur.value().withDetails(cur.value().name(), cur.value().description(), cur.value().adminStateUp(), now)));
            Port result;
            if (port != null) {
                result = port.withDevice(Port.OWNER_ROUTER_INTERFACE, id, port.hostId(), now);
                txn.when(ports.unchanged(port.id(), portV.revision())).onSuccess(ports.put(result));
            } else {
                if (res.ipAllocations().get(IpAllocation.key(subnet.id(), subnet.gatewayIp())).isPresent()) {
                    throw ApiException.conflict("IP address " + subnet.gatewayIp() + " already allocated in subnet " + subnet.id()
                            + "; the subnet's gateway is taken by another port.").withType("IpAddressAlreadyAllocated");
                }
                var prep = net.ports().preparePort(AuthContext.system(cur.value().projectId()), new PortService.PortRequest(network.id(), "", null,
                        true, null, List.of(new PortService.FixedIpRequest(subnet.id(), subnet.gatewayIp())), Port.OWNER_ROUTER_INTERFACE,
                        id, List.of(), false, null, null, cur.value().projectId()), cur.value().projectId(), Set.of());
                prep.addTo(txn, net.ports());
                result = prep.port();
            }
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=router_interface_added router_id={} subnet_id={} port_id={}", id, subnet.id(), result.id());
                return new Interface(id, subnet.id(), result.id(), network.id(), cur.value().projectId());
            }
        }
        throw NetworkErrors.busy("Router " + id);
    }

    public Interface removeInterface(AuthContext ctx, String id, String subnetId, String portId) {
        Policy.requireMember(ctx, "remove_router_interface");
        if (subnetId == null && portId == null) {
            throw ApiException.badRequest("Bad router request: Either subnet_id or port_id must be specified.").withType("BadRequest");
        }
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<Router> cur = visible(ctx, id);
            Port found = null;
            for (Port p : portsOf(id)) {
                if (!p.deviceOwner().equals(Port.OWNER_ROUTER_INTERFACE)) {
                    continue;
                }
                boolean matches = portId != null ? p.id().equals(portId)
                        : p.fixedIps().stream().anyMatch(f -> f.subnetId().equals(subnetId));
                if (matches && (subnetId == null || p.fixedIps().stream().anyMatch(f -> f.subnetId().equals(subnetId)))) {
                    found = p;
                }
            }
            if (found == null) {
                throw portId != null
                        ? ApiException.notFound("Router " + id + " does not have an interface with id " + portId).withType("RouterInterfaceNotFound")
                        : ApiException.notFound("Router " + id + " has no interface on subnet " + subnetId)
                        .withType("RouterInterfaceNotFoundForSubnet");
            }
            Port iface = found;
            String sid = iface.fixedIps().isEmpty() ? null : iface.fixedIps().get(0).subnetId();
            for (Versioned<FloatingIp> f : res.floatingIps().list()) {
                if (id.equals(f.value().routerId()) && f.value().portId() != null) {
                    var target = res.ports().get(f.value().portId());
                    if (target.isPresent() && target.get().value().fixedIps().stream().anyMatch(x -> x.subnetId().equals(sid))) {
                        throw ApiException.conflict("Router interface for subnet " + sid + " on router " + id + " cannot be deleted, as it is "
                                + "required by one or more floating IPs.").withType("RouterInterfaceInUseByFloatingIP");
                    }
                }
            }
            var pv = res.ports().get(iface.id()).orElseThrow();
            var txn = Txn.builder().when(routers.unchanged(id, cur.revision()), ports.unchanged(iface.id(), pv.revision()))
                    .onSuccess(routers.put(cur.value().withDetails(cur.value().name(), cur.value().description(), cur.value().adminStateUp(),
                            res.clock().now())));
            net.ports().releaseOps(iface, txn);
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=router_interface_removed router_id={} port_id={}", id, iface.id());
                return new Interface(id, sid, iface.id(), iface.networkId(), cur.value().projectId());
            }
        }
        throw NetworkErrors.busy("Router " + id);
    }

    // ---- floating IPs --------------------------------------------------------------------------

    public Versioned<FloatingIp> visibleFloatingIp(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "get_floatingip");
        res.sync();
        return res.floatingIps().get(id).filter(f -> ctx.isAdmin() || f.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> NetworkErrors.floatingIpNotFound(id));
    }

    public List<FloatingIp> listFloatingIps(AuthContext ctx) {
        Policy.requireReader(ctx, "get_floatingip");
        res.sync();
        var all = ctx.isAdmin() ? res.floatingIps().list() : res.floatingIps().byIndex(Resources.BY_PROJECT, ctx.projectId());
        return all.stream().map(Versioned::value).sorted(Comparator.comparing(FloatingIp::createdAt).thenComparing(FloatingIp::id)).toList();
    }

    public FloatingIp createFloatingIp(AuthContext ctx, String networkId, String address, String portId, String fixedIp, String description) {
        Policy.requireMember(ctx, "create_floatingip");
        if (networkId == null) {
            throw NetworkErrors.invalid("floating_network_id is required.");
        }
        if (address != null && !ctx.isAdmin()) {
            throw NetworkErrors.forbidden("create_floatingip:floating_ip_address");
        }
        res.sync();
        externalNetwork(ctx, networkId, "floatingip");
        quotas.check(ctx.projectId(), "floatingip", 1);
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            String fipId = Ids.newId();
            var prep = net.ports().preparePort(AuthContext.system(""), new PortService.PortRequest(networkId, "", null, true, null,
                    address == null ? null : List.of(new PortService.FixedIpRequest(null, address)), Port.OWNER_FLOATING_IP, fipId, List.of(),
                    false, null, null, ""), "", Set.of());
            if (prep.port().fixedIps().isEmpty()) {
                throw ApiException.badRequest("Bad floatingip request: external network " + networkId + " has no subnet to take an address from.")
                        .withType("BadRequest");
            }
            Instant now = res.clock().now();
            var fip = new FloatingIp(fipId, ctx.projectId(), networkId, prep.port().fixedIps().get(0).ipAddress(), prep.port().id(), null, null,
                    null, description, now, now, 0);
            var txn = Txn.builder().when(fips.absent(fipId));
            prep.addTo(txn, net.ports());
            if (portId != null) {
                fip = associateInto(ctx, fip, networkId, portId, fixedIp, txn, now);
            }
            txn.onSuccess(fips.put(fip));
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=floating_ip_created floating_ip_id={} address={} port_id={}", fip.id(), fip.floatingIpAddress(), fip.portId());
                return fip;
            }
            if (address != null) {
                res.sync();
                for (Port.FixedIp f : prep.port().fixedIps()) {
                    if (res.ipAllocations().get(IpAllocation.key(f.subnetId(), f.ipAddress())).isPresent()) {
                        throw PortService.ipInUse(f.ipAddress(), f.subnetId());
                    }
                }
            }
        }
        throw NetworkErrors.busy("The external network's addresses");
    }

    /**
     * Points the floating IP at a port's fixed IP: there must be a router with a gateway on the
     * floating IP's network and an interface on that fixed IP's subnet (Neutron's rule).
     */
    private FloatingIp associateInto(AuthContext ctx, FloatingIp fip, String networkId, String portId, String fixedIp, Txn.Builder txn,
                                     Instant now) {
        Versioned<Port> pv = net.visiblePort(ctx, portId);
        Port p = pv.value();
        if (!p.projectId().equals(fip.projectId()) && !ctx.isAdmin()) {
            throw NetworkErrors.portNotFound(portId);
        }
        if (p.fixedIps().isEmpty()) {
            throw ApiException.badRequest("Bad floatingip request: Port " + portId + " does not have any IPv4 address configured to associate "
                    + "with a Floating IP.").withType("BadRequest");
        }
        Port.FixedIp chosen;
        if (fixedIp != null) {
            chosen = p.fixedIps().stream().filter(f -> f.ipAddress().equals(fixedIp)).findFirst()
                    .orElseThrow(() -> ApiException.badRequest("Bad floatingip request: Port " + portId + " does not have fixed ip " + fixedIp + ".")
                            .withType("BadRequest"));
        } else {
            chosen = p.fixedIps().get(0);
        }
        for (Versioned<FloatingIp> other : res.floatingIps().byIndex(Resources.BY_PORT, portId)) {
            if (!other.value().id().equals(fip.id()) && chosen.ipAddress().equals(other.value().fixedIpAddress())) {
                throw ApiException.conflict("Cannot associate floating IP " + fip.floatingIpAddress() + " (" + fip.id() + ") with port " + portId
                        + " using fixed IP " + chosen.ipAddress() + ", as that fixed IP already has a floating IP on external network "
                        + other.value().floatingNetworkId() + ".").withType("FloatingIPPortAlreadyAssociated");
            }
        }
        String routerId = null;
        for (Versioned<Router> r : res.routers().list()) {
            if (!networkId.equals(r.value().gatewayNetworkId())) {
                continue;
            }
            boolean onSubnet = portsOf(r.value().id()).stream().anyMatch(x -> x.deviceOwner().equals(Port.OWNER_ROUTER_INTERFACE)
                    && x.fixedIps().stream().anyMatch(f -> f.subnetId().equals(chosen.subnetId())));
            if (onSubnet) {
                routerId = r.value().id();
                break;
            }
        }
        if (routerId == null) {
            throw ApiException.notFound("External network " + networkId + " is not reachable from subnet " + chosen.subnetId()
                    + ". Therefore, cannot associate Port " + portId + " with a Floating IP.").withType("ExternalGatewayForFloatingIPNotFound");
        }
        txn.when(ports.unchanged(portId, pv.revision()));
        return fip.associate(portId, chosen.ipAddress(), routerId, now);
    }

    public FloatingIp updateFloatingIp(AuthContext ctx, String id, boolean portGiven, String portId, String fixedIp, String description) {
        Policy.requireMember(ctx, "update_floatingip");
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<FloatingIp> cur = visibleFloatingIp(ctx, id);
            FloatingIp f = cur.value();
            Instant now = res.clock().now();
            var txn = Txn.builder().when(fips.unchanged(id, cur.revision()));
            FloatingIp next = description == null ? f : f.withDescription(description, now);
            if (portGiven) {
                next = portId == null ? next.associate(null, null, null, now)
                        : associateInto(ctx, next, f.floatingNetworkId(), portId, fixedIp, txn, now);
            }
            txn.onSuccess(fips.put(next));
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=floating_ip_updated floating_ip_id={} port_id={}", id, next.portId());
                return next;
            }
        }
        throw NetworkErrors.busy("Floating IP " + id);
    }

    public void deleteFloatingIp(AuthContext ctx, String id) {
        Policy.requireMember(ctx, "delete_floatingip");
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Versioned<FloatingIp> cur = visibleFloatingIp(ctx, id);
            var txn = Txn.builder().when(fips.unchanged(id, cur.revision())).onSuccess(fips.deleteOp(id));
            var port = res.ports().get(cur.value().floatingPortId());
            port.ifPresent(p -> {
                txn.when(ports.unchanged(p.value().id(), p.revision()));
                net.ports().releaseOps(p.value(), txn);
            });
            TxnResult t = res.store().txn(txn.build());
            if (t.succeeded()) {
                res.awaitRevision(t.revision());
                log.info("event=floating_ip_deleted floating_ip_id={}", id);
                return;
            }
        }
        throw NetworkErrors.busy("Floating IP " + id);
    }

    static List<String> ipsOf(Port p) {
        var out = new ArrayList<String>();
        p.fixedIps().forEach(f -> out.add(f.ipAddress()));
        return out;
    }
}
