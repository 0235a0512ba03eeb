package io.halcyon.runtime;

import io.halcyon.model.compute.ComputeQuotaRecord;
import io.halcyon.model.compute.Flavor;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Server;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.model.host.HostLease;
import io.halcyon.model.identity.NameClaim;
import io.halcyon.model.identity.Project;
import io.halcyon.model.identity.Revocation;
import io.halcyon.model.identity.Role;
import io.halcyon.model.identity.RoleAssignment;
import io.halcyon.model.identity.TokenKey;
import io.halcyon.model.identity.User;
import io.halcyon.model.image.Image;
import io.halcyon.model.network.FloatingIp;
import io.halcyon.model.network.IpAllocation;
import io.halcyon.model.network.Network;
import io.halcyon.model.network.NetworkQuotaRecord;
import io.halcyon.model.network.Port;
import io.halcyon.model.network.Router;
import io.halcyon.model.network.SecurityGroup;
import io.halcyon.model.network.SecurityGroupRule;
import io.halcyon.model.network.SegmentAllocation;
import io.halcyon.model.network.Subnet;
import io.halcyon.model.volume.Backup;
import io.halcyon.model.volume.BackupPolicy;
import io.halcyon.model.volume.Snapshot;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeQuotaRecord;
import io.halcyon.model.volume.VolumeType;
import io.halcyon.store.Store;

import java.time.Duration;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * A controller's view of the store: one cache with an informer and a repository per kind, and
 * the indexes the API and reconcilers look things up by. Reads go to informers after
 * {@link #sync()}; writes go through repositories or multi-key transactions on {@link #store()}.
 */
public final class Resources implements AutoCloseable {
    public static final String BY_PROJECT = "project";
    public static final String BY_HOST = "host";
    public static final String BY_USER = "user";
    public static final String BY_SERVER = "server";
    public static final String BY_VOLUME = "volume";
    public static final String BY_NETWORK = "network";
    public static final String BY_SUBNET = "subnet";
    public static final String BY_DEVICE = "device";
    public static final String BY_GROUP = "group";
    public static final String BY_PORT = "port";

    private final Store store;
    private final Clock clock;
    private final Cache cache;
    private final Duration syncTimeout;

    private final Informer<Project> projects;
    private final Informer<User> users;
    private final Informer<Role> roles;
    private final Informer<RoleAssignment> roleAssignments;
    private final Informer<NameClaim> names;
    private final Informer<TokenKey> tokenKeys;
    private final Informer<Revocation> revocations;
    private final Informer<io.halcyon.model.identity.Lockout> lockouts;
    private final Informer<Flavor> flavors;
    private final Informer<Server> servers;
    private final Informer<InstanceAction> instanceActions;
    private final Informer<ComputeQuotaRecord> computeQuotas;
    private final Informer<Image> images;
    private final Informer<Volume> volumes;
    private final Informer<Snapshot> snapshots;
    private final Informer<Backup> backups;
    private final Informer<BackupPolicy> backupPolicies;
    private final Informer<VolumeType> volumeTypes;
    private final Informer<VolumeQuotaRecord> volumeQuotas;
    private final Informer<Network> networks;
    private final Informer<Subnet> subnets;
    private final Informer<Port> ports;
    private final Informer<IpAllocation> ipAllocations;
    private final Informer<SegmentAllocation> segments;
    private final Informer<SecurityGroup> securityGroups;
    private final Informer<SecurityGroupRule> securityGroupRules;
    private final Informer<Router> routers;
    private final Informer<FloatingIp> floatingIps;
    private final Informer<NetworkQuotaRecord> networkQuotas;
    private final Informer<Host> hosts;
    private final Informer<HostLease> hostLeases;
    private final Informer<HostAllocation> allocations;
    private final Informer<io.halcyon.model.host.HostBeat> hostBeats;
    private final Informer<io.halcyon.model.host.HostBeatBatch> hostBeatBatches;
    private final Informer<io.halcyon.model.host.HostHaStatus> hostHa;
    private final Informer<io.halcyon.model.host.HostHaConfig> hostHaConfig;
    private final Informer<io.halcyon.model.host.HostEvent> hostEvents;
    private final Informer<io.halcyon.model.host.HaRecovery> haRecoveries;
    private final Informer<io.halcyon.model.host.HaCluster> haCluster;
    private final Informer<io.halcyon.model.compute.ServerGroup> serverGroups;

    public Resources(Store store, Clock clock, Duration syncTimeout) {
        this.store = requireNonNull(store, "store is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.syncTimeout = requireNonNull(syncTimeout, "syncTimeout is null");
        this.cache = new Cache(store);
        projects = cache.informer(Kinds.PROJECTS);
        users = cache.informer(Kinds.USERS);
        roles = cache.informer(Kinds.ROLES);
        roleAssignments = cache.informer(Kinds.ROLE_ASSIGNMENTS);
        names = cache.informer(Kinds.NAMES);
        tokenKeys = cache.informer(Kinds.TOKEN_KEYS);
        revocations = cache.informer(Kinds.REVOCATIONS);
        lockouts = cache.informer(Kinds.LOCKOUTS);
        flavors = cache.informer(Kinds.FLAVORS);
        servers = cache.informer(Kinds.SERVERS);
        instanceActions = cache.informer(Kinds.INSTANCE_ACTIONS);
        computeQuotas = cache.informer(Kinds.COMPUTE_QUOTAS);
        images = cache.informer(Kinds.IMAGES);
        volumes = cache.informer(Kinds.VOLUMES);
        snapshots = cache.informer(Kinds.SNAPSHOTS);
        backups = cache.informer(Kinds.BACKUPS);
        backupPolicies = cache.informer(Kinds.BACKUP_POLICIES);
        volumeTypes = cache.informer(Kinds.VOLUME_TYPES);
        volumeQuotas = cache.informer(Kinds.VOLUME_QUOTAS);
        networks = cache.informer(Kinds.NETWORKS);
        subnets = cache.informer(Kinds.SUBNETS);
        ports = cache.informer(Kinds.PORTS);
        ipAllocations = cache.informer(Kinds.IP_ALLOCATIONS);
        segments = cache.informer(Kinds.SEGMENTS);
        securityGroups = cache.informer(Kinds.SECURITY_GROUPS);
        securityGroupRules = cache.informer(Kinds.SECURITY_GROUP_RULES);
        routers = cache.informer(Kinds.ROUTERS);
        floatingIps = cache.informer(Kinds.FLOATING_IPS);
        networkQuotas = cache.informer(Kinds.NETWORK_QUOTAS);
        hosts = cache.informer(Kinds.HOSTS);
        hostLeases = cache.informer(Kinds.HOST_LEASES);
        allocations = cache.informer(Kinds.ALLOCATIONS);
        hostBeats = cache.informer(Kinds.HOST_BEATS);
        hostBeatBatches = cache.informer(Kinds.HOST_BEAT_BATCHES);
        hostHa = cache.informer(Kinds.HOST_HA);
        hostHaConfig = cache.informer(Kinds.HOST_HA_CONFIG);
        hostEvents = cache.informer(Kinds.HOST_EVENTS);
        haRecoveries = cache.informer(Kinds.HA_RECOVERIES);
        haCluster = cache.informer(Kinds.HA_CLUSTER);
        serverGroups = cache.informer(Kinds.SERVER_GROUPS);
        serverGroups.addIndex(BY_PROJECT, g -> List.of(g.projectId()));
        serverGroups.addIndex(BY_SERVER, g -> g.members());
        hostEvents.addIndex(BY_HOST, e -> List.of(e.host()));

        servers.addIndex(BY_PROJECT, s -> List.of(s.projectId()));
        servers.addIndex(BY_HOST, s -> s.status().host() == null ? List.of() : List.of(s.status().host()));
        roleAssignments.addIndex(BY_USER, a -> List.of(a.userId()));
        roleAssignments.addIndex(BY_PROJECT, a -> List.of(a.projectId()));
        instanceActions.addIndex(BY_SERVER, a -> List.of(a.serverId()));
        images.addIndex(BY_PROJECT, i -> List.of(i.owner()));
        volumes.addIndex(BY_PROJECT, v -> List.of(v.projectId()));
        volumes.addIndex(BY_SERVER, v -> v.attachments().stream().map(a -> a.serverId()).toList());
        snapshots.addIndex(BY_PROJECT, s -> List.of(s.projectId()));
        snapshots.addIndex(BY_VOLUME, s -> List.of(s.volumeId()));
        backups.addIndex(BY_PROJECT, b -> List.of(b.projectId()));
        backups.addIndex(BY_VOLUME, b -> List.of(b.volumeId()));
        networks.addIndex(BY_PROJECT, n -> List.of(n.projectId()));
        subnets.addIndex(BY_NETWORK, s -> List.of(s.networkId()));
        ports.addIndex(BY_NETWORK, p -> List.of(p.networkId()));
        ports.addIndex(BY_PROJECT, p -> List.of(p.projectId()));
        ports.addIndex(BY_DEVICE, p -> p.deviceId().isEmpty() ? List.of() : List.of(p.deviceId()));
        ports.addIndex(BY_HOST, p -> p.hostId().isEmpty() ? List.of() : List.of(p.hostId()));
        ipAllocations.addIndex(BY_SUBNET, a -> List.of(a.subnetId()));
        securityGroups.addIndex(BY_PROJECT, g -> List.of(g.projectId()));
        securityGroupRules.addIndex(BY_GROUP, r -> List.of(r.securityGroupId()));
        routers.addIndex(BY_PROJECT, r -> List.of(r.projectId()));
        floatingIps.addIndex(BY_PROJECT, f -> List.of(f.projectId()));
        floatingIps.addIndex(BY_PORT, f -> f.portId() == null ? List.of() : List.of(f.portId()));
    }

    public void start() {
        cache.start();
    }

    /** Blocks until the informers reflect every write the store acknowledged before this call. */
    private static final ThreadLocal<Boolean> STALE = ThreadLocal.withInitial(() -> false);

    /**
     * Brings the cache up to the store's current revision. Without a quorum the store cannot say
     * what that is: reads then go on from the last state this controller saw, and the request is
     * marked stale so the API can say so. Writes still fail, as they must.
     */
    public void sync() {
        try {
            cache.sync(syncTimeout);
        } catch (io.halcyon.store.StoreUnavailableException e) {
            if (cache.revision() <= 0) {
                throw e;
            }
            STALE.set(true);
        }
    }

    /** Whether this thread's request was answered from the last known state. */
    public static boolean stale() {
        return STALE.get();
    }

    public static void clearStale() {
        STALE.set(false);
    }

    /** Blocks until the informers reflect {@code revision} (a write this controller just made). */
    public void awaitRevision(long revision) {
        if (!cache.awaitRevision(revision, syncTimeout)) {
            throw new io.halcyon.store.StoreException("cache did not reach revision " + revision);
        }
    }

    public <T> Repository<T> repo(Kind<T> kind) {
        return new Repository<>(store, kind);
    }

    public Store store() {
        return store;
    }

    public Clock clock() {
        return clock;
    }

    public Cache cache() {
        return cache;
    }

    public Informer<Project> projects() {
        return projects;
    }

    public Informer<User> users() {
        return users;
    }

    public Informer<Role> roles() {
        return roles;
    }

    public Informer<RoleAssignment> roleAssignments() {
        return roleAssignments;
    }

    public Informer<NameClaim> names() {
        return names;
    }

    public Informer<TokenKey> tokenKeys() {
        return tokenKeys;
    }

    public Informer<io.halcyon.model.identity.Lockout> lockouts() {
        return lockouts;
    }

    public Informer<Revocation> revocations() {
        return revocations;
    }

    public Informer<Flavor> flavors() {
        return flavors;
    }

    public Informer<Server> servers() {
        return servers;
    }

    public Informer<InstanceAction> instanceActions() {
        return instanceActions;
    }

    public Informer<ComputeQuotaRecord> computeQuotas() {
        return computeQuotas;
    }

    public Informer<Image> images() {
        return images;
    }

    public Informer<Volume> volumes() {
        return volumes;
    }

    public Informer<Snapshot> snapshots() {
        return snapshots;
    }

    public Informer<Backup> backups() {
        return backups;
    }

    public Informer<BackupPolicy> backupPolicies() {
        return backupPolicies;
    }

    public Informer<VolumeType> volumeTypes() {
        return volumeTypes;
    }

    public Informer<VolumeQuotaRecord> volumeQuotas() {
        return volumeQuotas;
    }

    public Informer<Network> networks() {
        return networks;
    }

    public Informer<Subnet> subnets() {
        return subnets;
    }

    public Informer<Port> ports() {
        return ports;
    }

    public Informer<IpAllocation> ipAllocations() {
        return ipAllocations;
    }

    public Informer<SegmentAllocation> segments() {
        return segments;
    }

    public Informer<SecurityGroup> securityGroups() {
        return securityGroups;
    }

    public Informer<SecurityGroupRule> securityGroupRules() {
        return securityGroupRules;
    }

    public Informer<Router> routers() {
        return routers;
    }

    public Informer<FloatingIp> floatingIps() {
        return floatingIps;
    }

    public Informer<NetworkQuotaRecord> networkQuotas() {
        return networkQuotas;
    }

    public Informer<Host> hosts() {
        return hosts;
    }

    public Informer<HostLease> hostLeases() {
        return hostLeases;
    }

    public Informer<HostAllocation> allocations() {
        return allocations;
    }

    /** A host is up while its lease key exists. */
    public Informer<io.halcyon.model.host.HostBeat> hostBeats() {
        return hostBeats;
    }

    public Informer<io.halcyon.model.host.HostBeatBatch> hostBeatBatches() {
        return hostBeatBatches;
    }

    public Informer<io.halcyon.model.host.HostHaStatus> hostHa() {
        return hostHa;
    }

    public Informer<io.halcyon.model.host.HostHaConfig> hostHaConfig() {
        return hostHaConfig;
    }

    public Informer<io.halcyon.model.host.HostEvent> hostEvents() {
        return hostEvents;
    }

    public Informer<io.halcyon.model.host.HaRecovery> haRecoveries() {
        return haRecoveries;
    }

    public Informer<io.halcyon.model.host.HaCluster> haCluster() {
        return haCluster;
    }

    public Informer<io.halcyon.model.compute.ServerGroup> serverGroups() {
        return serverGroups;
    }

    /** The server group a server was created into, if any. */
    public java.util.Optional<Versioned<io.halcyon.model.compute.ServerGroup>> groupOf(String serverId) {
        return serverGroups.byIndex(BY_SERVER, serverId).stream().findFirst();
    }

    /** The host's HA state ("up" when the leader has not decided one yet). */
    public String hostHaState(String host) {
        return hostHa.get(host).map(v -> v.value().state()).orElse("up");
    }

    public boolean hostUp(String host) {
        return hostLeases.get(host).isPresent();
    }

    @Override
    public void close() {
        cache.close();
    }
}
