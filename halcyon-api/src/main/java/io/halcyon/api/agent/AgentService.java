package io.halcyon.api.agent;

import io.halcyon.api.http.ApiException;
import io.halcyon.model.Ids;
import io.halcyon.api.compute.ServerPorts;
import io.halcyon.api.compute.ServerVolumes;
import io.halcyon.model.agent.Assignment;
import io.halcyon.model.agent.BackupTask;
import io.halcyon.model.volume.Backup;
import io.halcyon.model.volume.BackupStatus;
import io.halcyon.model.agent.DiskSpec;
import io.halcyon.model.agent.NicSpec;
import io.halcyon.model.compute.Nic;
import io.halcyon.model.network.Port;
import io.halcyon.model.compute.BlockDevice;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.storage.Backends;
import io.halcyon.storage.ImageData;
import io.halcyon.model.agent.Assignments;
import io.halcyon.model.agent.GuestReport;
import io.halcyon.model.agent.HostRegistration;
import io.halcyon.model.agent.ImageRef;
import io.halcyon.model.agent.Registration;
import io.halcyon.model.agent.ReportAnswer;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerLifecycle;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.model.host.HostLease;
import io.halcyon.model.host.HaCluster;
import io.halcyon.model.host.HostBeat;
import io.halcyon.ha.HaPolicy;
import io.halcyon.ha.HaSettings;
import io.halcyon.model.image.Image;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Compare;
import io.halcyon.store.KeyValue;
import io.halcyon.store.LeaseNotFoundException;
import io.halcyon.store.Op;
import io.halcyon.store.StoreException;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * The controller side of the agent protocol: registration with a host lease, lease renewal,
 * each host's assignments, and the agents' reports, which move servers through their lifecycle.
 * Agents never see the store; everything they learn comes from here.
 */
public final class AgentService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentService.class);
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.\\-_]{0,62})");
    static final String SEQ_KEY = "/halcyon/counters/hosts";

    private final Resources res;
    private final AssignmentFeed feed;
    private final Duration leaseTtl;
    private final Duration renewInterval;
    private final HaSettings ha;
    private final Repository<HostBeat> beats;
    private final Repository<Host> hosts;
    private final Repository<HostLease> leases;
    private final Repository<HostAllocation> allocations;
    private final Repository<Server> servers;
    private final Repository<InstanceAction> actions;
    private final Backends backends;
    private final ServerVolumes serverVolumes;
    private final ServerPorts serverPorts;
    private final BeatBatcher batcher;

    /** How the leader's backup of a running guest's volume is described to its host; null when backups are off. */
    public interface BackupTasks {
        BackupTask of(Backup b);
    }

    private volatile BackupTasks backupTasks;
    private volatile java.nio.file.Path witness;

    /** The directory of the hosts' heartbeats on the shared storage, as this controller mounts it; null: none. */
    public void witness(java.nio.file.Path dir) {
        this.witness = dir;
    }

    public void backupTasks(BackupTasks tasks) {
        this.backupTasks = tasks;
    }

    /** Batched renewals go in a record named after {@code controller}, which must differ between the controllers of a cluster. */
    public AgentService(Resources res, AssignmentFeed feed, HaSettings ha, Backends backends, ServerPorts serverPorts, String controller) {
        this.res = requireNonNull(res, "res is null");
        this.batcher = new BeatBatcher(res, controller, BATCH_PERIOD);
        this.backends = requireNonNull(backends, "backends is null");
        this.serverVolumes = new ServerVolumes(res);
        this.serverPorts = java.util.Objects.requireNonNull(serverPorts, "serverPorts is null");
        this.feed = requireNonNull(feed, "feed is null");
        this.ha = requireNonNull(ha, "ha is null");
        this.leaseTtl = ha.leaseTtl();
        this.renewInterval = ha.renewInterval();
        this.beats = res.repo(Kinds.HOST_BEATS);
        this.hosts = res.repo(Kinds.HOSTS);
        this.leases = res.repo(Kinds.HOST_LEASES);
        this.allocations = res.repo(Kinds.ALLOCATIONS);
        this.servers = res.repo(Kinds.SERVERS);
        this.actions = res.repo(Kinds.INSTANCE_ACTIONS);
    }

    /** At most this many batch writes a second per controller: 1,000 hosts renewing every second make 10 writes, not 1,000. */
    static final Duration BATCH_PERIOD = Duration.ofMillis(100);

    @Override
    public void close() {
        batcher.close();
    }

    public static void checkHostName(String name) {
        if (name == null || !HOST_NAME.matcher(name).matches()) {
            throw ApiException.badRequest("Invalid host name '" + name + "': 1 to 63 letters, digits, '.', '-' or '_'.");
        }
    }

    public Registration register(String name, HostRegistration reg) {
        checkHostName(name);
        if (!name.equals(reg.name())) {
            throw ApiException.badRequest("Host name in the path (" + name + ") and body (" + reg.name() + ") differ.");
        }
        if (reg.cpus() <= 0 || reg.ramMb() <= 0 || reg.diskGb() < 0 || reg.reservedRamMb() < 0 || reg.reservedCpus() < 0
                || reg.reservedDiskGb() < 0) {
            throw ApiException.badRequest("Host resources must be positive and reservations non-negative.");
        }
        for (int attempt = 0; attempt < 50; attempt++) {
            res.sync();
            Instant now = res.clock().now();
            Optional<Versioned<Host>> existing = res.hosts().get(name);
            long lease = res.store().grantLease(leaseTtl);
            var txn = Txn.builder();
            String id;
            long seq;
            if (existing.isPresent()) {
                id = existing.get().value().id();
                seq = existing.get().value().seq();
                txn.when(hosts.unchanged(name, existing.get().revision()));
            } else {
                id = Ids.newId();
                Optional<KeyValue> counter = res.store().get(SEQ_KEY);
                seq = counter.map(kv -> Long.parseLong(kv.valueAsString()) + 1).orElse(1L);
                txn.when(hosts.absent(name), counter.map(kv -> Compare.modRevision(SEQ_KEY, kv.modRevision())).orElse(Compare.absent(SEQ_KEY)))
                        .onSuccess(Op.put(SEQ_KEY, Long.toString(seq).getBytes(StandardCharsets.UTF_8)));
            }
            boolean enabled = existing.map(h -> h.value().enabled()).orElse(true);
            String reason = existing.map(h -> h.value().disabledReason()).orElse(null);
            Instant registered = existing.map(h -> h.value().registeredAt()).orElse(now);
            var host = new Host(name, id, seq, reg.cpus(), reg.ramMb(), reg.diskGb(), reg.reservedCpus(), reg.reservedRamMb(),
                    reg.reservedDiskGb(), reg.accel(), reg.arch(), reg.cpuModel(), reg.hypervisorVersion(), reg.endpoint(),
                    reg.agentVersion(), reg.bootId(), lease, enabled, reason, registered, now, Math.max(0, reg.watchdogTimeoutMillis()));
            txn.onSuccess(hosts.put(host), Op.put(Kinds.HOST_LEASES.key(name),
                    leases.encode(new HostLease(name, lease, reg.bootId(), now)), lease));
            if (res.allocations().get(name).isEmpty()) {
                txn.when(allocations.absent(name)).onSuccess(allocations.put(HostAllocation.empty(name)));
            }
            TxnResult r;
            try {
                r = res.store().txn(txn.build());
            } catch (StoreException e) {
                res.store().revokeLease(lease);
                throw e;
            }
            if (!r.succeeded()) {
                res.store().revokeLease(lease);
                try {
                    Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextInt(1, 20));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw ApiException.unavailable("Interrupted while registering host " + name + ".");
                }
                continue;
            }
            existing.ifPresent(h -> {
                if (h.value().leaseId() != lease) {
                    try {
                        res.store().revokeLease(h.value().leaseId());
                    } catch (StoreException ignored) {
                        // already expired
                    }
                }
            });
            res.awaitRevision(r.revision());
            feed.bump(name, r.revision());
            log.info("event=host_registered host={} host_id={} boot_id={} cpus={} ram_mb={} accel={} lease={}", name, id,
                    reg.bootId(), reg.cpus(), reg.ramMb(), reg.accel(), Long.toHexString(lease));
            return new Registration(id, lease, leaseTtl.toMillis(), renewInterval.toMillis(), ha.selfFenceTimeout().toMillis(), armed(name),
                    ha.restartLimit(), ha.restartWindow().toMillis(), Witness.writtenBy(witness, name, reg.bootId()));
        }
        throw ApiException.conflict("Host " + name + " is being registered concurrently; retry.");
    }

    /** The answer to a renewal: whether the agent must enforce its self-fence, and the revision its renewal was written at. */
    public record Beat(boolean armed, long revision) {
    }

    /**
     * Renews the host's lease. The renewal record (which outlives the lease, so a leader elected
     * after the host died still knows whether it was self-fencing) is written only on a transition:
     * a new lease, a change of what the agent enforces, the first renewal after a self-fence, or a
     * host the leader does not hold for up. Any other renewal goes in this controller's next batch.
     * Either way the answer waits for the write. {@code seen} is the newest revision the agent had
     * in an answer: this controller first catches up with it, so the record it compares with is
     * never older than one another controller wrote for this agent. An agent that sends no
     * {@code seen} (before batches existed) has every renewal written.
     *
     * @param armed      what the agent enforced when it sent this renewal
     * @param afterFence the agent self-fenced and has not renewed since
     * @param witness    the agent counts its heartbeats on the shared storage as renewals
     * @return the answer, without a thread held while the renewal waits for its batch
     */
    public java.util.concurrent.CompletionStage<Beat> heartbeatAsync(String name, long leaseId, long seq, boolean armed, boolean afterFence,
                                                                       boolean witness, long seen) {
        checkHostName(name);
        if (seen > 0 && !res.cache().awaitRevision(seen, Duration.ofSeconds(1))) {
            seen = -1;
        }
        var current = res.hostLeases().get(name);
        if (current.isPresent() && current.get().value().leaseId() != leaseId) {
            throw ApiException.conflict("Host " + name + " was registered again by another agent (boot "
                    + current.get().value().bootId() + "); this agent must register again.");
        }
        try {
            res.store().keepAlive(leaseId);
        } catch (LeaseNotFoundException e) {
            throw ApiException.notFound("The lease of host " + name + " has expired; register again.");
        }
        var stored = res.hostBeats().get(name).map(Versioned::value).orElse(null);
        boolean transition = seen <= 0 || afterFence || stored == null || stored.leaseId() != leaseId || stored.armed() != armed
                || stored.witness() != witness || !steady(res.hostHaState(name));
        if (!transition) {
            boolean answer = armed(name);
            return batcher.add(name, seq).orTimeout(5, java.util.concurrent.TimeUnit.SECONDS).handle((rev, error) -> {
                if (error != null) {
                    throw ApiException.unavailable("The renewal of host " + name + " could not be recorded; retry.");
                }
                return new Beat(answer, rev);
            });
        }
        String bootId = current.map(c -> c.value().bootId()).orElse(null);
        var beat = new HostBeat(name, leaseId, bootId, seq, armed, res.clock().now(), witness);
        TxnResult r;
        try {
            r = res.store().txn(Txn.builder().onSuccess(Op.put(Kinds.HOST_BEATS.key(name), beats.encode(beat))).build());
        } catch (LeaseNotFoundException e) {
            throw ApiException.notFound("The lease of host " + name + " has expired; register again.");
        }
        return java.util.concurrent.CompletableFuture.completedFuture(new Beat(armed(name), r.revision()));
    }

    /** States in which the leader already holds the host for up (or does not watch it): nothing to tell it. */
    private static boolean steady(String haState) {
        return "up".equals(haState) || "maintenance".equals(haState);
    }

    /**
     * Whether agents of this host must self-fence: not while HA is disarmed (cluster or host) or the
     * host is in maintenance, and not while no other host could take its guests (an all-in-one, or
     * every other host down or in maintenance): a self-fence there would kill guests for nothing.
     */
    private boolean armed(String host) {
        boolean clusterOff = res.haCluster().get(HaCluster.ID).map(v -> v.value().disarmed()).orElse(false);
        var cfg = res.hostHaConfig().get(host).map(Versioned::value).orElse(null);
        return !clusterOff && (cfg == null || (!cfg.disarmed() && !cfg.maintenance())) && anotherCouldTakeOver(host);
    }

    private volatile java.util.Set<String> takers;
    private volatile long takersAt;

    /** Whether some other host is up, enabled and not in maintenance; the set is recomputed at most five times a second. */
    private boolean anotherCouldTakeOver(String host) {
        long now = System.nanoTime();
        var set = takers;
        if (set == null || now - takersAt > 200_000_000L) {
            var next = new java.util.HashSet<String>();
            for (Versioned<Host> v : res.hosts().list()) {
                String name = v.value().name();
                boolean maintenance = res.hostHaConfig().get(name).map(c -> c.value().maintenance()).orElse(false);
                if (v.value().enabled() && !maintenance && res.hostUp(name)) {
                    next.add(name);
                }
            }
            set = java.util.Set.copyOf(next);
            takers = set;
            takersAt = now;
        }
        return set.size() > (set.contains(host) ? 1 : 0);
    }

    public Assignments assignments(String name) {
        long revision = res.cache().revision();
        var list = new ArrayList<Assignment>();
        // a fenced host runs nothing until the leader has seen it rejoin; a server waiting to be
        // restarted elsewhere is never started where it was
        boolean fenced = "fenced".equals(res.hostHaState(name));
        for (Versioned<Server> v : res.servers().byIndex(Resources.BY_HOST, name)) {
            Assignment a = assignment(v.value());
            list.add(fenced || waitsForRecovery(v.value()) ? a.poweredOff() : a);
        }
        list.sort(Comparator.comparing(Assignment::serverId));
        return new Assignments(name, Math.max(revision, feed.lastChange(name)), list);
    }

    /** Still placed on the host it waits to leave (once restarted elsewhere, its placement has moved on). */
    private boolean waitsForRecovery(Server s) {
        return res.haRecoveries().get(s.id()).map(r -> r.value().fromHost().equals(s.status().host())).orElse(false);
    }

    private Assignment assignment(Server s) {
        ImageRef image = null;
        DiskSpec root = null;
        if (!s.spec().imageId().isEmpty()) {
            Image i = res.images().get(s.spec().imageId()).map(Versioned::value).orElse(null);
            image = i == null ? new ImageRef(s.spec().imageId(), null, -1, null)
                    : new ImageRef(i.id(), i.diskFormat(), i.size() == null ? -1 : i.size(), i.hashValue());
            // an image deleted after the server was made: its root disk exists and needs no base any more
            var data = i == null ? null : new ImageData(i.id(), i.diskFormat(), i.hashValue(), i.virtualSize() == null ? 0 : i.virtualSize(), null);
            root = backends.rootDisks().rootDisk(s.id(), data, (long) s.spec().flavor().diskGb() << 30);
        }
        var volumes = new ArrayList<DiskSpec>();
        for (BlockDevice b : s.spec().blockDevices()) {
            DiskSpec d = export(b);
            if (b.root()) {
                root = d;
            } else if (d != null) {
                volumes.add(d);
            }
        }
        return new Assignment(s.id(), s.status().epoch(), s.spec().name(), s.projectId(), s.spec().flavor(), image, s.spec().userData(),
                s.spec().configDrive(), hostname(s.spec().name()), s.spec().metadata(), s.spec().availabilityZone(), s.spec().power(),
                s.spec().rebootGeneration(), s.spec().rebootType(), s.spec().deleted(), s.createdAt(), root, volumes, nics(s),
                HaPolicy.of(s.spec().metadata(), s.spec().flavor().extraSpecs(), ha.defaultPolicy()).enabled(), backups(s));
    }

    /** Backups of the server's volumes the leader gave its host, not reported yet. */
    private List<BackupTask> backups(Server s) {
        BackupTasks tasks = backupTasks;
        if (tasks == null || s.status().host() == null) {
            return List.of();
        }
        var out = new ArrayList<BackupTask>();
        for (BlockDevice b : s.spec().blockDevices()) {
            for (Versioned<Backup> v : res.backups().byIndex(Resources.BY_VOLUME, b.volumeId())) {
                Backup bk = v.value();
                if (bk.status() == BackupStatus.CREATING && s.status().host().equals(bk.host()) && bk.outcome() == null) {
                    out.add(tasks.of(bk));
                }
            }
        }
        return out;
    }

    /**
     * A host's report on a backup it was given; ignored unless the backup still waits for that
     * host. The report stands for every backup of the same server backup the host was given (the
     * host takes them together, all or none), recorded in one transaction, so the leader never
     * sees part of a server backup reported and the rest taken back.
     */
    public void backupOutcome(String host, String backupId, boolean ok, String error) {
        checkHostName(host);
        for (int attempt = 0; attempt < 10; attempt++) {
            res.sync();
            Versioned<Backup> cur = res.backups().get(backupId).orElse(null);
            if (cur == null || !waitsFor(cur.value(), host)) {
                return;
            }
            String outcome = ok ? "ok" : "failed: " + (error == null || error.isBlank() ? "no reason given" : error);
            var repo = res.repo(Kinds.BACKUPS);
            var txn = Txn.builder();
            var members = new ArrayList<Versioned<Backup>>();
            members.add(cur);
            if (cur.value().group() != null) {
                for (Versioned<Backup> v : res.backups().list()) {
                    Backup o = v.value();
                    if (!o.id().equals(backupId) && o.group() != null && o.group().id().equals(cur.value().group().id()) && waitsFor(o, host)) {
                        members.add(v);
                    }
                }
            }
            Instant now = res.clock().now();
            for (Versioned<Backup> v : members) {
                txn.when(repo.unchanged(v.value().id(), v.revision())).onSuccess(repo.put(v.value().reported(outcome, now)));
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=backup_reported backup_ids={} host={} outcome=\"{}\"", members.stream().map(v -> v.value().id()).toList(),
                        host, outcome);
                return;
            }
        }
        throw ApiException.conflict("Backup " + backupId + " is changing too quickly; retry.");
    }

    private static boolean waitsFor(Backup b, String host) {
        return b.status() == BackupStatus.CREATING && host.equals(b.host()) && b.outcome() == null;
    }

    /** The server's NICs whose ports exist, with their network's MTU. */
    private List<NicSpec> nics(Server s) {
        var out = new ArrayList<NicSpec>();
        for (Nic n : s.spec().nics()) {
            Port p = res.ports().get(n.portId()).map(Versioned::value).orElse(null);
            if (p == null) {
                continue;
            }
            int mtu = res.networks().get(p.networkId()).map(v -> v.value().mtu()).orElse(1500);
            out.add(new NicSpec(p.id(), p.macAddress(), mtu));
        }
        return out;
    }

    /** A volume's disk once its data exists on its backend; null while it is still being made (or failed). */
    private DiskSpec export(BlockDevice b) {
        Volume v = res.volumes().get(b.volumeId()).map(Versioned::value).orElse(null);
        if (v == null || v.status() == VolumeStatus.CREATING || v.status() == VolumeStatus.DOWNLOADING
                || v.status() == VolumeStatus.ERROR) {
            return null;
        }
        return backends.get(v.backend()).map(be -> be.export(v.id(), b.device(), false)).orElse(null);
    }

    /** Nova's hostname sanitising: lower case, letters, digits and dashes, at most 63 characters. */
    static String hostname(String name) {
        String h = name.toLowerCase().replaceAll("[ _]", "-").replaceAll("[^a-z0-9.\\-]", "");
        h = h.replaceAll("^[.\\-]+", "").replaceAll("[.\\-]+$", "");
        if (h.length() > 63) {
            h = h.substring(0, 63).replaceAll("[.\\-]+$", "");
        }
        return h.isEmpty() ? "server" : h;
    }

    public List<ReportAnswer> report(String name, List<GuestReport> reports) {
        var out = new ArrayList<ReportAnswer>(reports.size());
        for (GuestReport r : reports) {
            out.add(reportOne(name, r));
        }
        return out;
    }

    private ReportAnswer reportOne(String host, GuestReport report) {
        for (int attempt = 0; attempt < 50; attempt++) {
            if (attempt > 0) {
                res.sync();
            }
            Optional<Versioned<Server>> cur = res.servers().get(report.serverId());
            if (cur.isEmpty()) {
                return ReportAnswer.stale("server " + report.serverId() + " does not exist");
            }
            Server s = cur.get().value();
            if (!ServerLifecycle.isCurrent(s, host, report)) {
                return ReportAnswer.stale("server " + s.id() + " is placed on " + s.status().host() + " at epoch " + s.status().epoch()
                        + ", not on " + host + " at epoch " + report.epoch());
            }
            Instant now = res.clock().now();
            var obs = ServerLifecycle.observe(s, report, now);
            var txn = Txn.builder().when(servers.unchanged(s.id(), cur.get().revision()));
            boolean volumesChanged = false;
            Server next = obs.next();
            ServerVolumes.Sync sync = null;
            if (obs.remove()) {
                serverVolumes.onServerRemoved(s, txn, now);
                serverPorts.onServerRemoved(s, txn, now);
                volumesChanged = true;
            } else {
                sync = serverVolumes.onReport(s, new java.util.HashSet<>(report.attachedVolumes()), report.volumeFaults(), txn, now);
                volumesChanged = sync.changed();
                if (sync.blockDevices() != null) {
                    next = next.withSpec(next.spec().withBlockDevices(sync.blockDevices()));
                }
            }
            if (!volumesChanged && !obs.remove() && !obs.releaseClaim() && obs.completed() == null && next.equals(s)) {
                return ReportAnswer.ok();
            }
            if (obs.remove()) {
                txn.onSuccess(servers.deleteOp(s.id()), Op.deletePrefix(Kinds.INSTANCE_ACTIONS.prefix() + s.id() + "/"));
            } else if (!next.equals(s)) {
                txn.onSuccess(servers.put(next));
            }
            if (sync != null) {
                for (var f : sync.failures().entrySet()) {
                    boolean attach = next.spec().blockDevices().stream().noneMatch(b -> b.volumeId().equals(f.getKey()));
                    String action = attach ? "attach_volume" : "detach_volume";
                    log.warn("event=volume_{}_failed server_id={} volume_id={} error=\"{}\"", attach ? "attach" : "detach", s.id(), f.getKey(),
                            f.getValue());
                    latestAction(s.id(), action).ifPresent(a -> {
                        var e = new InstanceAction.Event("compute_" + action, a.value().startTime(), now, "Error", host,
                                "Volume " + f.getKey() + ": " + f.getValue());
                        txn.when(actions.unchanged(Kinds.INSTANCE_ACTIONS.idOf().apply(a.value()), a.revision()))
                                .onSuccess(actions.put(a.value().withEvent(e, now)));
                    });
                }
            }
            if (obs.releaseClaim()) {
                var alloc = res.allocations().get(host);
                if (alloc.isPresent() && alloc.get().value().claims().containsKey(s.id())) {
                    txn.when(allocations.unchanged(host, alloc.get().revision())).onSuccess(allocations.put(alloc.get().value().without(s.id())));
                }
            }
            if (obs.completed() != null && !obs.remove()) {
                latestAction(s.id(), obs.completed().action()).ifPresent(a -> {
                    var c = obs.completed();
                    var e = new InstanceAction.Event(c.event(), a.value().startTime(), now, c.result(), host, c.details());
                    txn.when(actions.unchanged(Kinds.INSTANCE_ACTIONS.idOf().apply(a.value()), a.revision()))
                            .onSuccess(actions.put(a.value().withEvent(e, now)));
                });
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                if (obs.remove()) {
                    log.info("event=server_deleted server_id={} host={}", s.id(), host);
                } else if (next.status().vmState() != s.status().vmState() || next.status().taskState() != s.status().taskState()) {
                    log.info("event=server_state server_id={} host={} vm_state={} task_state={} power_state={}", s.id(), host,
                            next.status().vmState().wire(), next.status().taskState() == null ? "none" : next.status().taskState().wire(),
                            next.status().powerState());
                }
                return ReportAnswer.ok();
            }
        }
        throw ApiException.conflict("Server " + report.serverId() + " kept changing; report again.");
    }

    private Optional<Versioned<InstanceAction>> latestAction(String serverId, String action) {
        return res.instanceActions().byIndex(Resources.BY_SERVER, serverId).stream()
                .filter(a -> a.value().action().equals(action))
                .max(Comparator.comparing(a -> a.value().startTime()));
    }
}
