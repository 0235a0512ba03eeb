package io.halcyon.controller;

import io.halcyon.api.ApiAuthenticator;
import io.halcyon.api.Catalog;
import io.halcyon.api.agent.AgentApi;
import io.halcyon.api.agent.AgentConsoleClient;
import io.halcyon.api.agent.AgentService;
import io.halcyon.api.agent.AssignmentFeed;
import io.halcyon.api.auth.PasswordHasher;
import io.halcyon.api.auth.TokenService;
import io.halcyon.api.compute.ComputeAdminApi;
import io.halcyon.api.compute.ComputeApi;
import io.halcyon.api.compute.ComputeQuotas;
import io.halcyon.api.compute.FlavorApi;
import io.halcyon.api.compute.ServerApi;
import io.halcyon.api.compute.ServerService;
import io.halcyon.api.compute.ServerPorts;
import io.halcyon.api.compute.VolumeAttachmentApi;
import io.halcyon.api.network.NetworkApi;
import io.halcyon.api.network.NetworkQuotas;
import io.halcyon.api.network.NetworkService;
import io.halcyon.api.network.NetworkSettings;
import io.halcyon.api.network.RouterService;
import io.halcyon.api.network.SecurityGroupService;
import io.halcyon.api.volume.BackupService;
import io.halcyon.api.volume.VolumeApi;
import io.halcyon.backup.QemuImage;
import io.halcyon.backup.VolumeBackups;
import io.halcyon.backup.repo.Keys;
import io.halcyon.backup.repo.Repository;
import io.halcyon.backup.repo.RepositoryException;
import io.halcyon.config.ConfigException;
import io.halcyon.controller.ovn.OvnReconciler;
import io.halcyon.api.volume.VolumeQuotas;
import io.halcyon.api.volume.VolumeService;
import io.halcyon.model.network.NetworkQuota;
import io.halcyon.model.volume.VolumeQuota;
import io.halcyon.storage.Backends;
import io.halcyon.storage.FileBackend;
import io.halcyon.storage.Rbd;
import io.halcyon.storage.RbdBackend;
import io.halcyon.storage.QemuImg;
import io.halcyon.storage.StorageException;
import io.halcyon.storage.VolumeBackend;
import io.halcyon.api.http.FaultStyle;
import io.halcyon.api.http.HttpServer;
import io.halcyon.api.http.Reply;
import io.halcyon.api.http.Router;
import io.halcyon.api.identity.IdentityApi;
import io.halcyon.api.identity.IdentityService;
import io.halcyon.api.image.ImageApi;
import io.halcyon.api.image.ImageFiles;
import io.halcyon.api.image.ImageImporter;
import io.halcyon.model.compute.ComputeQuota;
import io.halcyon.model.identity.Revocation;
import io.halcyon.model.image.ImageStatus;
import io.halcyon.runtime.Clock;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.LeaderElector;
import io.halcyon.runtime.ReconcileLoop;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.runtime.WorkQueue;
import io.halcyon.scheduler.Filters;
import io.halcyon.scheduler.Scheduler;
import io.halcyon.scheduler.SchedulerConfig;
import io.halcyon.scheduler.SchedulingReconciler;
import io.halcyon.store.Store;
import io.halcyon.store.Txn;
import io.halcyon.store.etcd.EtcdStore;
import io.halcyon.store.sqlite.SqliteStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Builds and runs one controller: the store, the cache, identity bootstrap, the leader elector,
 * the reconcile loops and the HTTP API. The only place that wires the controller's object graph.
 */
public final class ControllerMain implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControllerMain.class);

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private AssignmentFeed feed;
    private final Store store;
    private final Resources resources;
    public static final String VERSION = "0.1.0";
    /** An agent's report covers every guest of its host: more than a user's request. */
    private static final int AGENT_MAX_BODY = 16 << 20;
    private final LeaderElector elector;
    private OvnReconciler ovn;
    private final HttpServer http;
    private final HttpServer agentHttp;
    private final Router router;

    private ControllerMain(ControllerConfig config) throws Exception {
        config.validate();
        int umask = io.halcyon.config.PrivateDirs.umask();
        if (umask >= 0 && (umask & 077) != 077) {
            log.warn("event=umask_permissive umask={} note=\"files this process and its children write may be readable by other users; "
                    + "start it with umask 077, as ./halcyon does\"", String.format("%04o", umask));
        }
        io.halcyon.config.PrivateDirs.ensure(config.dataDir());
        var sealer = io.halcyon.config.Sealer.loadOrCreate(config.secretKey());
        Clock clock = Clock.SYSTEM;
        store = "etcd".equals(config.store().backend())
                ? EtcdStore.connect(config.store().etcdEndpoints(), config.store().timeout())
                : SqliteStore.open(config.storePath());
        closeables.add(store);
        resources = new Resources(store, clock, Duration.ofSeconds(10));
        closeables.add(0, resources);
        feed = new AssignmentFeed();
        resources.servers().addHandler(feed);
        // a server's NICs come from its ports: a port that changes wakes the agent of the server it is bound to
        resources.ports().addHandler((id, old, now) -> {
            long rev = now != null ? now.revision() : old.revision() + 1;
            for (var v : java.util.Arrays.asList(old, now)) {
                if (v != null && !v.value().deviceId().isEmpty()) {
                    resources.servers().get(v.value().deviceId()).map(s -> s.value().status().host())
                            .ifPresent(h -> feed.bump(h, rev));
                }
            }
        });
        // a host's HA state and recoveries change what its agent may run
        resources.hostHa().addHandler((host, old, now) -> feed.bump(host, now != null ? now.revision() : old.revision() + 1));
        resources.haRecoveries().addHandler((id, old, now) -> {
            long rev = now != null ? now.revision() : old.revision() + 1;
            resources.servers().get(id).map(s -> s.value().status().host()).ifPresent(h -> feed.bump(h, rev));
        });
        // a backup given to a host is part of that host's assignments
        resources.backups().addHandler((id, old, now) -> {
            long rev = now != null ? now.revision() : old.revision() + 1;
            for (var v : java.util.Arrays.asList(old, now)) {
                if (v != null && v.value().host() != null) {
                    feed.bump(v.value().host(), rev);
                }
            }
        });
        resources.start();

        var identity = new IdentityService(resources, PasswordHasher.standard(), config.tokenLifetime());
        identity.bootstrap(config.adminPassword());
        var tokenKeys = new io.halcyon.api.auth.TokenKeys(resources, sealer);
        tokenKeys.bootstrap();
        var tokens = new TokenService(tokenKeys::signing, tokenKeys::byId,
                () -> resources.revocations().list().stream().map(Versioned::value).toList(),
                clock, config.tokenLifetime());

        var imageFiles = new ImageFiles(config.dataDir().resolve("images"));
        boolean alone = "sqlite".equals(config.store().backend());
        if (alone) {
            requeueInterruptedUploads();
        }
        // with sqlite this is the only controller, so no upload is in progress: every temporary file goes; controllers
        // sharing the directory may be writing theirs (seeding an image marks nothing), so only stale ones go then
        imageFiles.init(alone ? id -> false : id -> true);
        String adminProject = identity.projectByName("admin").orElseThrow().id();
        new Bootstrap(resources, new ImageImporter(resources, imageFiles)).seed(config.bootstrap(), adminProject);

        elector = new LeaderElector(store, "controller-" + ProcessHandle.current().pid() + "-" + config.api().port(),
                config.leaderTtl(), clock);
        closeables.add(0, elector);

        var schedulerConfig = new SchedulerConfig(config.scheduler().cpuAllocationRatio(), config.scheduler().ramAllocationRatio(),
                config.scheduler().diskAllocationRatio(), config.scheduler().hostSubsetSize());
        var scheduling = new SchedulingReconciler(resources, new Scheduler(schedulerConfig, Filters.DEFAULT), elector, new SecureRandom());
        var schedulingQueue = new WorkQueue("scheduling", Duration.ofMillis(5), Duration.ofSeconds(5));
        var schedulingLoop = new ReconcileLoop("scheduling", scheduling, schedulingQueue, 8, elector,
                () -> resources.servers().list().stream().filter(v -> SchedulingReconciler.needsPlacement(v.value()))
                        .map(v -> v.value().id()).toList(), Duration.ofSeconds(30));
        resources.servers().addHandler((id, old, now) -> {
            if (now != null && SchedulingReconciler.needsPlacement(now.value())) {
                schedulingQueue.add(id);
            }
        });
        closeables.add(0, schedulingLoop);
        schedulingLoop.start();
        elector.start();

        var housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
            var t = new Thread(r, "housekeeping");
            t.setDaemon(true);
            return t;
        });
        closeables.add(0, housekeeping::shutdownNow);
        housekeeping.scheduleWithFixedDelay(this::expireRevocations, 60, 60, TimeUnit.SECONDS);

        var backends = backends(config);
        new Bootstrap(resources, new ImageImporter(resources, imageFiles)).seedVolumeTypes(config.storage());
        var volumeReconciler = new VolumeReconciler(resources, backends, imageFiles, elector);
        var volumeQueue = new WorkQueue("volumes", Duration.ofMillis(20), Duration.ofSeconds(10));
        var volumeLoop = new ReconcileLoop("volumes", volumeReconciler, volumeQueue, 4, elector, () -> {
            var keys = new ArrayList<String>();
            resources.volumes().list().stream().filter(v -> VolumeReconciler.needsWork(v.value())).forEach(v -> keys.add("volume/" + v.value().id()));
            resources.snapshots().list().stream().filter(v -> VolumeReconciler.needsWork(v.value())).forEach(v -> keys.add("snapshot/" + v.value().id()));
            return keys;
        }, Duration.ofSeconds(30));
        resources.volumes().addHandler((id, old, now) -> {
            if (now != null && VolumeReconciler.needsWork(now.value())) {
                volumeQueue.add("volume/" + id);
            }
        });
        resources.snapshots().addHandler((id, old, now) -> {
            if (now != null && VolumeReconciler.needsWork(now.value())) {
                volumeQueue.add("snapshot/" + id);
            }
            if (now == null && old != null) {
                // a cascade delete waits for its snapshots
                resources.volumes().get(old.value().volumeId()).filter(v -> VolumeReconciler.needsWork(v.value()))
                        .ifPresent(v -> volumeQueue.add("volume/" + v.value().id()));
            }
        });
        resources.servers().addHandler((id, old, now) -> {
            if (now == null && old != null && !old.value().spec().imageId().isEmpty()) {
                volumeQueue.add("rootdisk/" + id);
            }
        });
        closeables.add(0, volumeLoop);
        volumeLoop.start();
        housekeeping.scheduleWithFixedDelay(volumeReconciler::sweep, 5, 60, TimeUnit.SECONDS);
        AgentService.BackupTasks backupTasks = startBackups(config, backends, elector, housekeeping);
        boolean backupsOn = backupTasks != null;

        var quotas = new ComputeQuotas(resources, new ComputeQuota(config.quotas().instances(), config.quotas().cores(),
                config.quotas().ram(), 128, 100, 10, 10, 5, 10240, 255));
        var volumeQuotas = new VolumeQuotas(resources, new VolumeQuota(config.quotas().volumes(), config.quotas().gigabytes(),
                config.quotas().snapshots(), -1, 10, 1000, 10));
        var volumeService = new VolumeService(resources, volumeQuotas, config.storage().defaultVolumeType());
        var net = config.network();
        var networkQuotas = new NetworkQuotas(resources, NetworkQuota.DEFAULTS);
        var networkService = new NetworkService(resources, new NetworkSettings(net.physicalNetworks(), net.vniMin(), net.vniMax(),
                net.overlayMtu(), net.providerMtu()), networkQuotas, new SecurityGroupService(resources, networkQuotas));
        var routerService = new RouterService(resources, networkService, networkQuotas);
        if (net.ovnNorthbound() != null) {
            ovn = new OvnReconciler(resources, net.ovnNorthbound(), elector, Duration.ofSeconds(5));
            closeables.add(0, ovn);
            ovn.start();
        }
        var serverPorts = new ServerPorts(resources, networkService);
        var servers = new ServerService(resources, quotas, new AgentConsoleClient(config.agentToken(),
                config.tls() == null || config.tls().ca() == null ? null : io.halcyon.http.Tls.client(config.tls().ca())), volumeService, serverPorts);
        var haSettings = config.haSettings();
        var agents = new AgentService(resources, feed, haSettings, backends, serverPorts, elector.identity());
        closeables.add(0, agents);
        agents.backupTasks(backupTasks);
        agents.witness(config.ha().witness());
        var ha = new io.halcyon.controller.ha.HaController(resources, elector, haSettings, schedulerConfig, sealer,
                new io.halcyon.controller.ha.BmcFencer(config.ha().ipmitool(), 10_000), agents, config.ha().tickInterval(), backends);
        closeables.add(0, ha);
        ha.witness(config.ha().witness());
        ha.start();

        var loginGuard = new io.halcyon.api.auth.LoginGuard(config.login().settings(), PasswordHasher.standard(),
                io.halcyon.api.auth.LoginGuard.Lockouts.in(resources), clock);
        closeables.add(0, loginGuard);
        router = new Router();
        new IdentityApi(identity, tokens, new Catalog(config.region()), resources,
                project -> resources.servers().byIndex(Resources.BY_PROJECT, project).size(), loginGuard).register(router);
        new ComputeApi(new FlavorApi(resources), new ServerApi(resources, servers),
                new ComputeAdminApi(resources, quotas, p -> identity.project(p).isPresent()),
                new VolumeAttachmentApi(resources, servers, Duration.ofSeconds(10))).register(router);
        var backupService = new BackupService(resources, volumeService, backupsOn);
        new VolumeApi(resources, volumeService, backupService, p -> identity.project(p).isPresent()).register(router);
        new io.halcyon.api.volume.BackupPolicyApi(resources, volumeService).register(router);
        new io.halcyon.api.volume.ServerBackupApi(new io.halcyon.api.volume.ServerBackupService(resources, backupService,
                backends.all().stream().filter(b -> b instanceof RbdBackend).map(VolumeBackend::name).collect(java.util.stream.Collectors.toSet())),
                backupService).register(router);
        if (backupsOn) {
            var policyRunner = new BackupPolicyRunner(resources, backupService, elector);
            housekeeping.scheduleWithFixedDelay(policyRunner::pass, 5, 5, TimeUnit.SECONDS);
        }
        new NetworkApi(resources, networkService, routerService, networkQuotas, p -> identity.project(p).isPresent()).register(router);
        new ImageApi(resources, imageFiles, config.maxImageBytes()).register(router);

        new io.halcyon.api.ha.HostHaApi(new io.halcyon.api.ha.HostHaService(resources, haSettings, sealer)).register(router);
        registerHealth(router, config.store().backend());

        var authenticator = new ApiAuthenticator(tokens, config.agentToken());
        var tls = config.tls() == null ? null : config.tls().files();
        // the agents' own listener first: hosts renew their leases there, whatever the public API is going through
        var agentRouter = new Router();
        new AgentApi(agents, feed, resources, imageFiles).register(agentRouter);
        agentHttp = new HttpServer("agent-api", config.agentApi().bind(), config.agentApi().port(),
                config.agentApi().listenerLimits(), tls, agentRouter, authenticator, AGENT_MAX_BODY, null,
                java.util.Set.of());
        agentHttp.start();
        closeables.add(0, agentHttp);
        http = new HttpServer("api", config.api().bind(), config.api().port(), config.api().listenerLimits(), tls, router, authenticator,
                config.api().maxBodyBytes(), config.api().publicUrl(), java.util.Set.copyOf(config.api().trustedProxies()));
        http.start();
        closeables.add(0, http);
        log.info("event=controller_started port={} agent_port={} tls={} store={} data_dir={}", http.port(), agentHttp.port(), tls != null,
                config.store().backend(), config.dataDir());
    }

    public static ControllerMain start(ControllerConfig config) throws Exception {
        return new ControllerMain(config);
    }

    public int port() {
        return http.port();
    }

    /** The port agents talk to. */
    public int agentPort() {
        return agentHttp.port();
    }

    /** The host's assignment polls this controller holds now. */
    public int pollsHeld(String host) {
        return feed.waiting(host);
    }

    /** The OVN northbound reconciler, when OVN is configured. */
    public java.util.Optional<OvnReconciler> ovn() {
        return java.util.Optional.ofNullable(ovn);
    }

    /** Every route of the public API, with the policy action that authorizes it. */
    public List<Router.Route> routes() {
        return router.routes();
    }

    public Resources resources() {
        return resources;
    }

    public boolean isLeader() {
        return elector.isLeader();
    }

    /** Opens (or makes) the backup repository and runs the backup reconciler; null when backups are off. */
    private AgentService.BackupTasks startBackups(ControllerConfig config, Backends backends, LeaderElector elector,
                                 java.util.concurrent.ScheduledExecutorService housekeeping) throws java.io.IOException {
        var bc = config.backup();
        if (!bc.enabled()) {
            return null;
        }
        Path dir = config.backupRepository();
        Keys keys = bc.keyFile() == null ? null : Keys.fromBase64(Files.readString(bc.keyFile()));
        Repository repo;
        try {
            if (Files.exists(dir.resolve("halcyon-repo.json"))) {
                repo = Repository.open(dir, keys);
            } else {
                try {
                    repo = Repository.init(dir, bc.chunkSize(), bc.zstdLevel(), keys);
                } catch (RepositoryException e) {
                    // another controller made it first
                    repo = Repository.open(dir, keys);
                }
            }
        } catch (RepositoryException e) {
            throw new ConfigException("controller.backup.repository: " + e.getMessage());
        }
        closeables.add(0, repo::close);
        var vb = new VolumeBackups(repo, new QemuImage(config.storage().qemuImgBinary()), bc.qemuNbdBinary(), bc.threads());
        var reconciler = new BackupReconciler(resources, backends, repo, vb, elector);
        var queue = new WorkQueue("backups", Duration.ofMillis(20), Duration.ofSeconds(10));
        var loop = new ReconcileLoop("backups", reconciler, queue, 2, elector, () -> resources.backups().list().stream()
                .filter(b -> BackupReconciler.needsWork(b.value())).map(b -> "backup/" + b.value().id()).toList(), Duration.ofSeconds(30));
        resources.backups().addHandler((id, old, now) -> {
            if (now != null && BackupReconciler.needsWork(now.value())) {
                queue.add("backup/" + id);
            }
        });
        closeables.add(0, loop);
        loop.start();
        long gc = bc.gcInterval().toSeconds();
        housekeeping.scheduleWithFixedDelay(() -> reconciler.collectGarbage(bc.gcGrace()), gc, gc, TimeUnit.SECONDS);
        log.info("event=backups_ready repository={} encrypted={}", dir, repo.config().encrypted());
        String key = bc.keyFile() == null ? null : Files.readString(bc.keyFile()).strip();
        String repoPath = dir.toAbsolutePath().toString();
        return b -> new io.halcyon.model.agent.BackupTask(b.id(), b.volumeId(), b.parentId(), repoPath, key, bc.threads(),
                b.group() == null ? null : b.group().id(), b.group() == null ? 1 : b.group().size());
    }

    private static Backends backends(ControllerConfig config) throws StorageException {
        var qemuImg = new QemuImg(config.storage().qemuImgBinary());
        var list = new ArrayList<VolumeBackend>();
        for (ControllerConfig.Backend b : config.storage().backends()) {
            if ("rbd".equals(b.type())) {
                list.add(new RbdBackend(b.name(), new Rbd(b.pool(), b.cephConf(), b.cephUser(), 600), qemuImg, b.overSubscriptionRatio(),
                        b.reservedPercent() / 100.0, b.capacityGb() << 30));
            } else {
                list.add(new FileBackend(b.name(), config.storagePath(b), b.overSubscriptionRatio(), b.reservedPercent() / 100.0, qemuImg));
            }
        }
        return new Backends(list, config.storage().rootDiskBackend());
    }

    private final java.time.Instant startedAt = java.time.Instant.now();

    private void registerHealth(Router router, String storeBackend) {
        var g = router.group("/halcyon/v1", FaultStyle.KEYSTONE, io.halcyon.api.auth.PolicyTable.load("halcyon",
                io.halcyon.api.auth.PolicyTable.Style.HALCYON));
        // what `halcyon cluster status` shows of the hosts: admins only
        g.get("/cluster", "halcyon:cluster:status", r -> {
            var hosts = new java.util.ArrayList<Map<String, Object>>();
            var now = resources.clock().now();
            for (var h : resources.hosts().list()) {
                var m = new LinkedHashMap<String, Object>();
                m.put("name", h.value().name());
                m.put("enabled", h.value().enabled());
                var lease = resources.hostLeases().get(h.value().name());
                m.put("up", lease.isPresent());
                m.put("leaseGrantedAt", lease.map(l -> l.value().grantedAt().toString()).orElse(null));
                m.put("leaseAgeSeconds", lease.map(l -> Duration.between(l.value().grantedAt(), now).toSeconds()).orElse(null));
                m.put("agentVersion", h.value().agentVersion());
                hosts.add(m);
            }
            return Reply.ok(Map.of("hosts", hosts));
        });
        g.open("GET", "/health", r -> {
            var m = new LinkedHashMap<String, Object>();
            m.put("status", "ok");
            m.put("identity", elector.identity());
            m.put("pid", ProcessHandle.current().pid());
            m.put("version", VERSION);
            m.put("startedAt", startedAt.toString());
            m.put("store", storeBackend);
            m.put("leader", elector.isLeader());
            m.put("revision", resources.cache().revision());
            m.put("hosts", resources.hosts().size());
            m.put("hostsUp", resources.hostLeases().size());
            return Reply.ok(m);
        });
    }

    /** With the single sqlite controller, an image left "saving" was cut off by a crash: let the client upload again. */
    private void requeueInterruptedUploads() {
        var images = resources.repo(Kinds.IMAGES);
        for (var v : resources.images().list()) {
            if (v.value().status() == ImageStatus.SAVING) {
                images.update(v.value().withStatus(ImageStatus.QUEUED, resources.clock().now()), v.revision());
                log.warn("event=image_upload_interrupted image_id={}", v.value().id());
            }
        }
    }

    private void expireRevocations() {
        if (!elector.isLeader()) {
            return;
        }
        try {
            var now = resources.clock().now();
            var txn = Txn.builder().when(elector.fence());
            int n = 0;
            for (Versioned<Revocation> v : resources.revocations().list()) {
                if (v.value().expiresAt().isBefore(now)) {
                    txn.when(resources.repo(Kinds.REVOCATIONS).unchanged(v.value().id(), v.revision()))
                            .onSuccess(resources.repo(Kinds.REVOCATIONS).deleteOp(v.value().id()));
                    n++;
                }
            }
            if (n > 0) {
                store.txn(txn.build());
            }
        } catch (RuntimeException e) {
            log.warn("event=revocation_expiry_failed error=\"{}\"", e.getMessage());
        }
    }

    @Override
    public void close() {
        io.halcyon.config.Closer.closeAll(closeables, log);
        log.info("event=controller_stopped");
    }

}
