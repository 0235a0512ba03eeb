package io.halcyon.api.compute;

import io.halcyon.api.auth.AuthContext;
import io.halcyon.api.auth.Policy;
import io.halcyon.api.http.ApiException;
import io.halcyon.model.Ids;
import io.halcyon.model.InvalidStateException;
import io.halcyon.model.compute.ComputeQuota;
import io.halcyon.model.compute.Flavor;
import io.halcyon.api.volume.VolumeService;
import io.halcyon.model.compute.BlockDevice;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Nic;
import io.halcyon.model.compute.PowerIntent;
import io.halcyon.model.compute.RebootType;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerLifecycle;
import io.halcyon.model.compute.ServerSpec;
import io.halcyon.model.compute.ServerStatus;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.model.image.Image;
import io.halcyon.model.image.ImageStatus;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeAttachment;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Op;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

import static java.util.Objects.requireNonNull;

/**
 * Server operations behind the compute API. Each one is a compare-and-swap on the server record
 * together with its instance action; the scheduler and the agents do the rest from the store.
 */
public final class ServerService {
    private static final Logger log = LoggerFactory.getLogger(ServerService.class);
    public static final String AVAILABILITY_ZONE = "nova";

    private final Resources res;
    private final ComputeQuotas quotas;
    private final ConsoleFetcher console;
    private final VolumeService volumeService;
    private final ServerVolumes serverVolumes;
    private final ServerPorts serverPorts;
    private final Repository<Volume> volumes;
    private final Repository<Server> servers;
    private final Repository<InstanceAction> actions;
    private final Repository<HostAllocation> allocations;

    public ServerService(Resources res, ComputeQuotas quotas, ConsoleFetcher console, VolumeService volumeService,
                         ServerPorts serverPorts) {
        this.res = requireNonNull(res, "res is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.console = requireNonNull(console, "console is null");
        this.volumeService = requireNonNull(volumeService, "volumeService is null");
        this.serverVolumes = new ServerVolumes(res);
        this.serverPorts = requireNonNull(serverPorts, "serverPorts is null");
        this.volumes = res.repo(Kinds.VOLUMES);
        this.servers = res.repo(Kinds.SERVERS);
        this.actions = res.repo(Kinds.INSTANCE_ACTIONS);
        this.allocations = res.repo(Kinds.ALLOCATIONS);
    }

    public ComputeQuotas quotas() {
        return quotas;
    }

    public record CreateRequest(String name, String description, String imageRef, String flavorRef, Map<String, String> metadata,
                                String userData, boolean configDrive, String availabilityZone, String accessIPv4,
                                String accessIPv6, int minCount, int maxCount, List<BlockDeviceRequest> blockDevices,
                                List<ServerPorts.NicRequest> nics, List<String> securityGroups, String serverGroup) {
        public CreateRequest(String name, String description, String imageRef, String flavorRef, Map<String, String> metadata,
                             String userData, boolean configDrive, String availabilityZone, String accessIPv4, String accessIPv6,
                             int minCount, int maxCount, List<BlockDeviceRequest> blockDevices, List<ServerPorts.NicRequest> nics,
                             List<String> securityGroups) {
            this(name, description, imageRef, flavorRef, metadata, userData, configDrive, availabilityZone, accessIPv4, accessIPv6,
                    minCount, maxCount, blockDevices, nics, securityGroups, null);
        }

        public CreateRequest {
            blockDevices = blockDevices == null ? List.of() : List.copyOf(blockDevices);
            securityGroups = securityGroups == null ? null : List.copyOf(securityGroups);
        }
    }

    /** One entry of block_device_mapping_v2. */
    public record BlockDeviceRequest(String sourceType, String destinationType, String uuid, Integer bootIndex, Integer volumeSize,
                                     boolean deleteOnTermination, String deviceName, String volumeType) {
        boolean bootVolume() {
            return bootIndex != null && bootIndex == 0 && "volume".equals(destinationType);
        }
    }

    public static ApiException serverNotFound(String id) {
        return ApiException.notFound("Instance " + id + " could not be found.");
    }

    /** The server if the caller may see it; 404 otherwise, so other projects' servers stay invisible. */
    public Versioned<Server> visible(AuthContext ctx, String id) {
        Policy.requireReader(ctx, "os_compute_api:servers:show");
        res.sync();
        return res.servers().get(id)
                .filter(v -> ctx.isAdmin() || v.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> serverNotFound(id));
    }

    public List<Server> create(AuthContext ctx, CreateRequest req, String requestId) {
        Policy.requireMember(ctx, "os_compute_api:servers:create");
        res.sync();
        Flavor flavor = res.flavors().get(req.flavorRef()).map(Versioned::value)
                .filter(f -> f.isPublic() || ctx.isAdmin())
                .orElseThrow(() -> ApiException.badRequest("Flavor " + req.flavorRef() + " could not be found."));
        if (flavor.disabled()) {
            throw ApiException.badRequest("Flavor " + flavor.id() + " is disabled and cannot be used.");
        }
        boolean bootFromVolume = req.blockDevices().stream().anyMatch(BlockDeviceRequest::bootVolume);
        Image image = null;
        if (!bootFromVolume) {
            if (req.imageRef() == null || req.imageRef().isEmpty()) {
                throw ApiException.badRequest("Missing imageRef attribute");
            }
            image = res.images().get(req.imageRef()).map(Versioned::value)
                    .filter(i -> i.visibleTo(ctx.projectId(), ctx.isAdmin()))
                    .orElseThrow(() -> ApiException.badRequest("Image " + req.imageRef() + " could not be found."));
            if (image.status() != ImageStatus.ACTIVE) {
                throw ApiException.badRequest("Image " + image.id() + " is not active.");
            }
            if (image.minRam() > flavor.ramMb()) {
                throw ApiException.badRequest("Flavor's memory is too small for requested image.");
            }
            if (flavor.diskGb() > 0) {
                if (image.minDisk() > flavor.diskGb()) {
                    throw ApiException.badRequest("Flavor's disk is too small for requested image.");
                }
                long flavorBytes = (long) flavor.diskGb() << 30;
                if (image.virtualSize() != null && image.virtualSize() > flavorBytes) {
                    throw ApiException.badRequest("Flavor's disk is too small for requested image. Flavor disk is " + flavorBytes
                            + " bytes, image is " + image.virtualSize() + " bytes.");
                }
            }
        }
        if (!req.blockDevices().isEmpty() && req.maxCount() > 1) {
            throw ApiException.badRequest("Block device mappings cannot be combined with creating several servers at once.");
        }
        if (req.availabilityZone() != null && !AVAILABILITY_ZONE.equals(req.availabilityZone())) {
            throw ApiException.badRequest("The requested availability zone is not available");
        }
        ComputeQuota quota = quotas.of(ctx.projectId());
        if (req.metadata() != null && quota.metadataItems() >= 0 && req.metadata().size() > quota.metadataItems()) {
            throw ApiException.forbidden("Quota exceeded for metadata_items: Requested " + req.metadata().size()
                    + ", but already used 0 of " + quota.metadataItems() + " metadata_items");
        }
        int count = allowedCount(ctx.projectId(), quota, flavor, req.minCount(), req.maxCount());
        List<ServerPorts.NicRequest> nicRequests = req.nics() == null ? serverPorts.defaultNics(ctx) : req.nics();
        serverPorts.validate(ctx, nicRequests, count);
        long newPorts = nicRequests.stream().filter(n -> n.portId() == null).count() * count;
        if (newPorts > 0) {
            serverPorts.network().ports().checkPortQuota(ctx.projectId(), (int) newPorts);
        }
        List<String> groups = req.securityGroups() == null || req.securityGroups().isEmpty() ? null : req.securityGroups();
        Instant now = res.clock().now();
        var created = new ArrayList<Server>();
        var txn = Txn.builder();
        var takenIps = new java.util.HashSet<String>();
        String imageId = image == null ? "" : image.id();
        for (int i = 1; i <= count; i++) {
            String name = count > 1 ? req.name() + "-" + i : req.name();
            String serverId = Ids.newId();
            List<BlockDevice> devices = blockDevices(ctx, serverId, req.blockDevices(), txn, now);
            List<Nic> nics = serverPorts.prepare(ctx, serverId, nicRequests, groups, takenIps, txn, now);
            var spec = new ServerSpec(name, req.description(), flavor.snapshot(), imageId, req.metadata(), req.userData(),
                    req.configDrive(), null, AVAILABILITY_ZONE, req.accessIPv4(), req.accessIPv6(), PowerIntent.ON, 0,
                    RebootType.SOFT, false, devices, nics);
            var server = new Server(serverId, ctx.projectId(), ctx.userId(), now, spec, ServerStatus.building(now));
            var action = new InstanceAction(requestId, server.id(), InstanceAction.CREATE, ctx.projectId(), ctx.userId(), now, now,
                    null, List.of());
            txn.when(servers.absent(server.id())).onSuccess(servers.put(server), actions.put(action));
            created.add(server);
        }
        joinGroup(ctx, req.serverGroup(), created, txn);
        TxnResult r = res.store().txn(txn.build());
        if (!r.succeeded()) {
            throw ApiException.conflict("A port, address, volume or server group the server needs changed while it was being created; retry.");
        }
        res.awaitRevision(r.revision());
        recheckQuota(ctx.projectId(), quota, created);
        for (Server s : created) {
            log.info("event=server_create_requested server_id={} project_id={} flavor={} image={} request_id={}", s.id(),
                    s.projectId(), flavor.id(), image == null ? "none" : image.id(), requestId);
        }
        return created;
    }

    /** Adds the new servers to their server group in the creating transaction (compared on the group's revision). */
    private void joinGroup(AuthContext ctx, String groupId, List<Server> created, Txn.Builder txn) {
        if (groupId == null) {
            return;
        }
        var g = res.serverGroups().get(groupId).filter(v -> ctx.isAdmin() || v.value().projectId().equals(ctx.projectId()))
                .orElseThrow(() -> ApiException.badRequest("Invalid server group " + groupId + ": no such group in this project."));
        long live = g.value().members().stream().filter(id -> res.servers().get(id).map(s -> !s.value().spec().deleted()).orElse(false))
                .count();
        int limit = quotas.of(ctx.projectId()).serverGroupMembers();
        if (limit >= 0 && live + created.size() > limit) {
            throw ApiException.forbidden("Quota exceeded, too many servers in group (" + live + " of " + limit + ").");
        }
        var members = new ArrayList<>(g.value().members());
        created.forEach(s -> members.add(s.id()));
        var groups = res.repo(Kinds.SERVER_GROUPS);
        txn.when(groups.unchanged(groupId, g.revision())).onSuccess(groups.put(g.value().withMembers(members)));
    }

    /**
     * Turns block_device_mapping_v2 into the server's block devices: existing volumes are reserved
     * for it (attaching), new ones (from an image, a snapshot, or blank) are created in the same
     * transaction as the server. Device names follow the root disk, vda, in order.
     */
    private List<BlockDevice> blockDevices(AuthContext ctx, String serverId, List<BlockDeviceRequest> requests, Txn.Builder txn, Instant now) {
        var out = new ArrayList<BlockDevice>();
        var used = new java.util.HashSet<String>();
        int newGb = 0;
        int newCount = 0;
        char next = 'b';
        for (BlockDeviceRequest b : requests) {
            String src = b.sourceType() == null ? "" : b.sourceType();
            String dst = b.destinationType() == null ? ("volume".equals(src) ? "volume" : "local") : b.destinationType();
            if ("local".equals(dst)) {
                if ("image".equals(src) && b.bootIndex() != null && b.bootIndex() == 0) {
                    continue; // the ordinary image boot, said the long way
                }
                throw ApiException.badRequest("Local block devices other than the image root disk are not supported; use volumes.");
            }
            if (!"volume".equals(dst)) {
                throw ApiException.badRequest("Invalid destination_type " + dst + ": must be volume or local.");
            }
            boolean root = b.bootIndex() != null && b.bootIndex() == 0;
            String device = root ? "/dev/vda" : deviceName(b.deviceName(), next, used);
            if (!root && device.equals("/dev/vd" + next)) {
                next++;
            }
            used.add(device);
            Volume volume;
            switch (src) {
                case "volume" -> {
                    Versioned<Volume> v = res.volumes().get(b.uuid() == null ? "" : b.uuid())
                            .filter(x -> ctx.isAdmin() || x.value().projectId().equals(ctx.projectId()))
                            .orElseThrow(() -> ApiException.badRequest("Volume " + b.uuid() + " could not be found."));
                    if (v.value().status() != VolumeStatus.AVAILABLE) {
                        throw ApiException.badRequest("Invalid volume: volume " + b.uuid() + " status must be available, it is "
                                + v.value().status().wire() + ".");
                    }
                    var att = new VolumeAttachment(Ids.newId(), serverId, device, now);
                    txn.when(volumes.unchanged(v.value().id(), v.revision()))
                            .onSuccess(volumes.put(v.value().withAttachments(List.of(att), VolumeStatus.ATTACHING, now)));
                    out.add(new BlockDevice(v.value().id(), att.attachmentId(), device, b.bootIndex(), b.deleteOnTermination()));
                    continue;
                }
                case "image", "snapshot", "blank" -> {
                    var cr = new VolumeService.CreateRequest(null, null, b.volumeSize(), b.volumeType(), null, Map.of(),
                            src.equals("image") ? b.uuid() : null, src.equals("snapshot") ? b.uuid() : null, null, false);
                    if (src.equals("blank") && b.volumeSize() == null) {
                        throw ApiException.badRequest("volume_size is required for a blank volume.");
                    }
                    volume = volumeService.prepare(ctx, cr);
                    newGb += volume.sizeGb();
                    newCount++;
                    volumeService.checkQuota(ctx.projectId(), newCount, newGb, 0);
                }
                default -> throw ApiException.badRequest("Invalid source_type " + src + ": must be volume, image, snapshot or blank.");
            }
            var att = new VolumeAttachment(Ids.newId(), serverId, device, now);
            Volume withAttachment = volume.withAttachments(List.of(att), VolumeStatus.CREATING, now);
            txn.when(volumes.absent(volume.id())).onSuccess(volumes.put(withAttachment));
            out.add(new BlockDevice(volume.id(), att.attachmentId(), device, b.bootIndex(), b.deleteOnTermination()));
        }
        if (out.stream().filter(BlockDevice::root).count() > 1) {
            throw ApiException.badRequest("Only one block device may have boot_index 0.");
        }
        return out;
    }

    static String deviceName(String requested, char next, java.util.Set<String> used) {
        if (requested != null && requested.matches("(/dev/)?vd[b-z]")) {
            String d = requested.startsWith("/dev/") ? requested : "/dev/" + requested;
            if (!used.contains(d)) {
                return d;
            }
        }
        if (next > 'z') {
            throw ApiException.badRequest("Too many block devices.");
        }
        return "/dev/vd" + next;
    }

    /** The next free device name for a new attachment to this server. */
    public static String nextDevice(Server s) {
        var used = new java.util.HashSet<String>();
        used.add("/dev/vda");
        for (BlockDevice b : s.spec().blockDevices()) {
            used.add(b.device());
        }
        for (char c = 'b'; c <= 'z'; c++) {
            if (!used.contains("/dev/vd" + c)) {
                return "/dev/vd" + c;
            }
        }
        throw ApiException.forbidden("Server " + s.id() + " has no free device name left.");
    }

    public ServerPorts serverPorts() {
        return serverPorts;
    }

    public ServerVolumes serverVolumes() {
        return serverVolumes;
    }

    public VolumeService volumeService() {
        return volumeService;
    }

    private int allowedCount(String projectId, ComputeQuota quota, Flavor f, int min, int max) {
        var used = quotas.usage(projectId);
        for (int n = max; n >= min; n--) {
            if (ComputeQuota.allows(quota.instances(), used.instances(), n)
                    && ComputeQuota.allows(quota.cores(), used.cores(), (long) n * f.vcpus())
                    && ComputeQuota.allows(quota.ram(), used.ram(), (long) n * f.ramMb())) {
                return n;
            }
        }
        throw quotaExceeded(quota, used, f.vcpus(), f.ramMb(), min);
    }

    private static ApiException quotaExceeded(ComputeQuota quota, ComputeQuotas.Usage used, int vcpus, int ramMb, int n) {
        String which;
        long requested;
        long usedOf;
        long limit;
        if (!ComputeQuota.allows(quota.instances(), used.instances(), n)) {
            which = "instances";
            requested = n;
            usedOf = used.instances();
            limit = quota.instances();
        } else if (!ComputeQuota.allows(quota.cores(), used.cores(), (long) n * vcpus)) {
            which = "cores";
            requested = (long) n * vcpus;
            usedOf = used.cores();
            limit = quota.cores();
        } else {
            which = "ram";
            requested = (long) n * ramMb;
            usedOf = used.ram();
            limit = quota.ram();
        }
        return ApiException.forbidden("Quota exceeded for " + which + ": Requested " + requested + ", but already used " + usedOf
                + " of " + limit + " " + which);
    }

    /**
     * Concurrent creates may both pass the first check; the later one to see the overshoot backs
     * out. The cache already reflects every create committed before this one (we awaited our own
     * revision), so no further sync is needed: a later create makes this check itself.
     */
    private void recheckQuota(String projectId, ComputeQuota quota, List<Server> created) {
        var used = quotas.usage(projectId);
        int cores = 0;
        int ram = 0;
        for (Server s : created) {
            cores += s.spec().flavor().vcpus();
            ram += s.spec().flavor().ramMb();
        }
        if (ComputeQuota.allows(quota.instances(), used.instances() - created.size(), created.size())
                && ComputeQuota.allows(quota.cores(), used.cores() - cores, cores)
                && ComputeQuota.allows(quota.ram(), used.ram() - ram, ram)) {
            return;
        }
        var txn = Txn.builder();
        for (Server s : created) {
            txn.onSuccess(servers.deleteOp(s.id()), Op.deletePrefix(Kinds.INSTANCE_ACTIONS.prefix() + s.id() + "/"));
        }
        res.awaitRevision(res.store().txn(txn.build()).revision());
        var before = new ComputeQuotas.Usage(used.instances() - created.size(), used.cores() - cores, used.ram() - ram);
        var flavor = created.get(0).spec().flavor();
        throw quotaExceeded(quota, before, flavor.vcpus(), flavor.ramMb(), created.size());
    }

    /** Applies a lifecycle request with compare-and-swap and records its instance action. */
    public Server act(AuthContext ctx, String id, String requestId, String action, BiFunction<Server, Instant, Server> transition) {
        return apply(ctx, id, requestId, action, transition, true);
    }

    /** Changes name, description, access addresses or metadata: no instance action, as in Nova. */
    public Server update(AuthContext ctx, String id, String requestId, BiFunction<Server, Instant, Server> transition) {
        return apply(ctx, id, requestId, "update", transition, false);
    }

    private Server apply(AuthContext ctx, String id, String requestId, String action, BiFunction<Server, Instant, Server> transition,
                         boolean record) {
        Policy.requireMember(ctx, "os_compute_api:servers:" + action);
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Server> v = visible(ctx, id);
            Instant now = res.clock().now();
            Server next = transition.apply(v.value(), now);
            var txn = Txn.builder().when(servers.unchanged(id, v.revision())).onSuccess(servers.put(next));
            if (record) {
                txn.onSuccess(actions.put(new InstanceAction(requestId, id, action, ctx.projectId(), ctx.userId(), now, now, null, List.of())));
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=server_action action={} server_id={} request_id={}", action, id, requestId);
                return next;
            }
        }
        throw ApiException.conflict("Instance " + id + " is changing too quickly; retry.");
    }

    public void stop(AuthContext ctx, String id, String requestId) {
        act(ctx, id, requestId, InstanceAction.STOP, ServerLifecycle::requestStop);
    }

    public void start(AuthContext ctx, String id, String requestId) {
        act(ctx, id, requestId, InstanceAction.START, (s, now) -> {
            // a stopped server's volumes are backed up or restored through qemu-nbd, which holds their locks
            for (var d : s.spec().blockDevices()) {
                var v = res.volumes().get(d.volumeId()).map(Versioned::value).orElse(null);
                if (v != null && (v.status() == io.halcyon.model.volume.VolumeStatus.BACKING_UP
                        || v.status() == io.halcyon.model.volume.VolumeStatus.RESTORING_BACKUP)) {
                    throw ApiException.conflict("Cannot 'start' instance " + id + " while its volume " + v.id() + " is " + v.status().wire()
                            + "; start it once that is done.");
                }
            }
            return ServerLifecycle.requestStart(s, now);
        });
    }

    public void reboot(AuthContext ctx, String id, RebootType type, String requestId) {
        act(ctx, id, requestId, InstanceAction.REBOOT, (s, now) -> ServerLifecycle.requestReboot(s, type, now));
    }

    /**
     * Marks the server for deletion; its agent removes the guest and reports it gone. A server that
     * was never placed, or whose host is down, is removed at once (Nova's "local delete"): its
     * agent finds the guest unassigned when it returns and removes it then.
     */
    public void delete(AuthContext ctx, String id, String requestId) {
        Policy.requireMember(ctx, "os_compute_api:servers:delete");
        for (int attempt = 0; attempt < 20; attempt++) {
            Versioned<Server> v = visible(ctx, id);
            Server s = v.value();
            String host = s.status().host();
            Txn.Builder txn = Txn.builder().when(servers.unchanged(id, v.revision()));
            if (host == null || !res.hostUp(host)) {
                txn.onSuccess(servers.deleteOp(id), Op.deletePrefix(Kinds.INSTANCE_ACTIONS.prefix() + id + "/"));
                serverVolumes.onServerRemoved(s, txn, res.clock().now());
                serverPorts.onServerRemoved(s, txn, res.clock().now());
                if (host != null) {
                    var alloc = res.allocations().get(host);
                    if (alloc.isPresent() && alloc.get().value().claims().containsKey(id)) {
                        txn.when(allocations.unchanged(host, alloc.get().revision()))
                                .onSuccess(allocations.put(alloc.get().value().without(id)));
                    }
                }
            } else {
                if (s.spec().deleted()) {
                    return;
                }
                Instant now = res.clock().now();
                var a = new InstanceAction(requestId, id, InstanceAction.DELETE, ctx.projectId(), ctx.userId(), now, now, null, List.of());
                txn.onSuccess(servers.put(ServerLifecycle.requestDelete(s, now)), actions.put(a));
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=server_delete_requested server_id={} local={} request_id={}", id, host == null || !res.hostUp(host),
                        requestId);
                return;
            }
        }
        throw ApiException.conflict("Instance " + id + " is changing too quickly; retry.");
    }

    public String consoleOutput(AuthContext ctx, String id, Integer lines) {
        Policy.requireMember(ctx, "os_compute_api:os-console-output");
        Server s = visible(ctx, id).value();
        String hostName = s.status().host();
        if (hostName == null) {
            throw ApiException.conflict("Guest does not have a console available.");
        }
        Host host = res.hosts().get(hostName).map(Versioned::value)
                .orElseThrow(() -> ApiException.conflict("Guest does not have a console available."));
        if (!res.hostUp(hostName)) {
            throw ApiException.conflict("Guest does not have a console available: host " + hostName + " is down.");
        }
        try {
            return console.fetch(host, id, lines);
        } catch (InvalidStateException e) {
            throw ApiException.conflict(e.getMessage());
        } catch (Exception e) {
            log.warn("event=console_fetch_failed server_id={} host={} error=\"{}\"", id, hostName, e.toString());
            throw ApiException.conflict("Guest does not have a console available: host " + hostName + " did not answer.");
        }
    }
}
