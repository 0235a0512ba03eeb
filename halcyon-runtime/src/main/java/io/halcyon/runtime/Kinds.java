package io.halcyon.runtime;

import io.halcyon.model.compute.ComputeQuotaRecord;
import io.halcyon.model.compute.Flavor;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerGroup;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.model.host.HaCluster;
import io.halcyon.model.host.HaRecovery;
import io.halcyon.model.host.HostBeat;
import io.halcyon.model.host.HostEvent;
import io.halcyon.model.host.HostHaConfig;
import io.halcyon.model.host.HostHaStatus;
import io.halcyon.model.host.HostLease;
import io.halcyon.model.identity.Lockout;
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
import io.halcyon.model.network.MacAllocation;
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

/** Every resource kind and where it lives in the store. */
public final class Kinds {
    private Kinds() {
    }

    public static final Kind<Project> PROJECTS = new Kind<>("projects", Project.class, Project::id);
    public static final Kind<User> USERS = new Kind<>("users", User.class, User::id);
    public static final Kind<Role> ROLES = new Kind<>("roles", Role.class, Role::id);
    public static final Kind<RoleAssignment> ROLE_ASSIGNMENTS = new Kind<>("role-assignments", RoleAssignment.class, RoleAssignment::id);
    /** Unique names: one record per (kind, name), created in the same transaction as its owner. */
    public static final Kind<NameClaim> NAMES = new Kind<>("names", NameClaim.class, NameClaim::id);
    public static final Kind<TokenKey> TOKEN_KEYS = new Kind<>("token-keys", TokenKey.class, TokenKey::id);
    public static final Kind<Revocation> REVOCATIONS = new Kind<>("revocations", Revocation.class, Revocation::id);
    public static final Kind<Lockout> LOCKOUTS = new Kind<>("lockouts", Lockout.class, Lockout::userId);

    public static final Kind<Flavor> FLAVORS = new Kind<>("flavors", Flavor.class, Flavor::id);
    public static final Kind<Server> SERVERS = new Kind<>("servers", Server.class, Server::id);
    public static final Kind<InstanceAction> INSTANCE_ACTIONS = new Kind<>("instance-actions", InstanceAction.class,
            a -> a.serverId() + "/" + a.key());
    public static final Kind<ComputeQuotaRecord> COMPUTE_QUOTAS = new Kind<>("compute-quotas", ComputeQuotaRecord.class,
            ComputeQuotaRecord::projectId);
    public static final Kind<ServerGroup> SERVER_GROUPS = new Kind<>("server-groups", ServerGroup.class, ServerGroup::id);
    public static final Kind<Image> IMAGES = new Kind<>("images", Image.class, Image::id);

    public static final Kind<Volume> VOLUMES = new Kind<>("volumes", Volume.class, Volume::id);
    public static final Kind<Snapshot> SNAPSHOTS = new Kind<>("snapshots", Snapshot.class, Snapshot::id);
    public static final Kind<Backup> BACKUPS = new Kind<>("backups", Backup.class, Backup::id);
    public static final Kind<BackupPolicy> BACKUP_POLICIES = new Kind<>("backup-policies", BackupPolicy.class, BackupPolicy::id);
    public static final Kind<VolumeType> VOLUME_TYPES = new Kind<>("volume-types", VolumeType.class, VolumeType::id);
    public static final Kind<VolumeQuotaRecord> VOLUME_QUOTAS = new Kind<>("volume-quotas", VolumeQuotaRecord.class,
            VolumeQuotaRecord::projectId);

    public static final Kind<Network> NETWORKS = new Kind<>("networks", Network.class, Network::id);
    public static final Kind<Subnet> SUBNETS = new Kind<>("subnets", Subnet.class, Subnet::id);
    public static final Kind<Port> PORTS = new Kind<>("ports", Port.class, Port::id);
    public static final Kind<IpAllocation> IP_ALLOCATIONS = new Kind<>("ip-allocations", IpAllocation.class, IpAllocation::key);
    public static final Kind<MacAllocation> MAC_ALLOCATIONS = new Kind<>("mac-allocations", MacAllocation.class, MacAllocation::key);
    public static final Kind<SegmentAllocation> SEGMENTS = new Kind<>("segments", SegmentAllocation.class,
            s -> SegmentAllocation.id(s.key()));
    public static final Kind<SecurityGroup> SECURITY_GROUPS = new Kind<>("security-groups", SecurityGroup.class, SecurityGroup::id);
    public static final Kind<SecurityGroupRule> SECURITY_GROUP_RULES = new Kind<>("security-group-rules", SecurityGroupRule.class,
            SecurityGroupRule::id);
    public static final Kind<Router> ROUTERS = new Kind<>("routers", Router.class, Router::id);
    public static final Kind<FloatingIp> FLOATING_IPS = new Kind<>("floating-ips", FloatingIp.class, FloatingIp::id);
    public static final Kind<NetworkQuotaRecord> NETWORK_QUOTAS = new Kind<>("network-quotas", NetworkQuotaRecord.class,
            NetworkQuotaRecord::projectId);

    public static final Kind<Host> HOSTS = new Kind<>("hosts", Host.class, Host::name);
    public static final Kind<HostLease> HOST_LEASES = new Kind<>("host-leases", HostLease.class, HostLease::host);
    public static final Kind<HostBeat> HOST_BEATS = new Kind<>("host-beats", HostBeat.class, HostBeat::host);
    public static final Kind<io.halcyon.model.host.HostBeatBatch> HOST_BEAT_BATCHES = new Kind<>("host-beat-batches",
            io.halcyon.model.host.HostBeatBatch.class, io.halcyon.model.host.HostBeatBatch::controller);
    public static final Kind<HostHaStatus> HOST_HA = new Kind<>("host-ha", HostHaStatus.class, HostHaStatus::host);
    public static final Kind<HostHaConfig> HOST_HA_CONFIG = new Kind<>("host-ha-config", HostHaConfig.class, HostHaConfig::host);
    public static final Kind<HostEvent> HOST_EVENTS = new Kind<>("host-events", HostEvent.class, e -> e.host() + "/" + e.key());
    public static final Kind<HaRecovery> HA_RECOVERIES = new Kind<>("ha-recoveries", HaRecovery.class, HaRecovery::serverId);
    public static final Kind<HaCluster> HA_CLUSTER = new Kind<>("ha-cluster", HaCluster.class, HaCluster::id);
    public static final Kind<HostAllocation> ALLOCATIONS = new Kind<>("allocations", HostAllocation.class, HostAllocation::host);
}
