package io.halcyon.controller;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.halcyon.config.ConfigException;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The controller's configuration (the {@code controller:} section of the YAML file). Every field
 * has a default except the secrets, which {@code ./halcyon up} generates.
 */
public record ControllerConfig(
        @JsonProperty("dataDir") Path dataDir,
        @JsonProperty("api") Api api,
        @JsonProperty("agentApi") AgentApi agentApi,
        @JsonProperty("tls") Tls tls,
        @JsonProperty("login") Login login,
        @JsonProperty("store") StoreConfig store,
        @JsonProperty("region") String region,
        @JsonProperty("adminPassword") String adminPassword,
        @JsonProperty("agentToken") String agentToken,
        @JsonProperty("secretKeyFile") Path secretKeyFile,
        @JsonProperty("tokenLifetime") Duration tokenLifetime,
        @JsonProperty("leaderTtl") Duration leaderTtl,
        @JsonProperty("hostLeaseTtl") Duration hostLeaseTtl,
        @JsonProperty("hostRenewInterval") Duration hostRenewInterval,
        @JsonProperty("maxImageBytes") Long maxImageBytes,
        @JsonProperty("scheduler") Scheduler scheduler,
        @JsonProperty("quotas") Quotas quotas,
        @JsonProperty("storage") Storage storage,
        @JsonProperty("network") Network network,
        @JsonProperty("bootstrap") Bootstrap bootstrap,
        @JsonProperty("ha") Ha ha,
        @JsonProperty("backup") Backup backup) {

    public ControllerConfig {
        if (dataDir == null) {
            dataDir = Path.of(System.getProperty("user.home"), ".halcyon", "data");
        }
        api = api == null ? new Api(null, null, null, null, null, null, null) : api;
        agentApi = agentApi == null ? new AgentApi(null, null, null) : agentApi;
        login = login == null ? new Login(null, null, null, null, null, null, null, null, null) : login;
        store = store == null ? new StoreConfig(null, null, null, null) : store;
        region = region == null ? "RegionOne" : region;
        tokenLifetime = tokenLifetime == null ? Duration.ofHours(1) : tokenLifetime;
        // failover takes up to the TTL plus etcd's 0.5 s expiry tick: 4 s keeps it under 5 s
        leaderTtl = leaderTtl == null ? Duration.ofSeconds(4) : leaderTtl;
        // host failure is detected in leaseTtl; with the HA defaults that keeps failover well under 15 s
        hostLeaseTtl = hostLeaseTtl == null ? Duration.ofSeconds(5) : hostLeaseTtl;
        hostRenewInterval = hostRenewInterval == null ? Duration.ofSeconds(1) : hostRenewInterval;
        maxImageBytes = maxImageBytes == null ? 1L << 40 : maxImageBytes;
        scheduler = scheduler == null ? new Scheduler(null, null, null, null) : scheduler;
        quotas = quotas == null ? new Quotas(null, null, null, null, null, null) : quotas;
        storage = storage == null ? new Storage(null, null, null, null, null) : storage;
        network = network == null ? new Network(null, null, null, null, null, null) : network;
        bootstrap = bootstrap == null ? new Bootstrap(null, null) : bootstrap;
        ha = ha == null ? new Ha(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null) : ha;
        backup = backup == null ? new Backup(null, null, null, null, null, null, null, null, null) : backup;
    }

    /** The HA settings the controller runs with: the host lease from {@code hostLeaseTtl}/{@code hostRenewInterval}, the rest from {@code ha}. */
    public io.halcyon.ha.HaSettings haSettings() {
        return new io.halcyon.ha.HaSettings(hostRenewInterval, hostLeaseTtl, ha.suspectAfter(), ha.selfFenceTimeout(), ha.fenceMargin(),
                ha.brakeShare(), ha.brakeWindow(), ha.bmcRetryInterval(), ha.bmcAttempts(), ha.restartLimit(), ha.restartWindow(),
                new io.halcyon.ha.HaPolicy(ha.enabledByDefault(), ha.defaultPriority()));
    }

    /** Checks what types cannot: secrets present, timings that make sense together. */
    public ControllerConfig validate() {
        if (adminPassword == null || adminPassword.length() < 8) {
            throw new ConfigException("controller.adminPassword must be set (at least 8 characters)");
        }
        if (agentToken == null || agentToken.length() < 16) {
            throw new ConfigException("controller.agentToken must be set (at least 16 characters)");
        }
        var haProblems = haSettings().problems();
        if (!haProblems.isEmpty()) {
            throw new ConfigException("unsafe HA timing: " + String.join("; ", haProblems).replace("renewInterval", "controller.hostRenewInterval")
                    .replace("leaseTtl", "controller.hostLeaseTtl").replace("suspectAfter", "controller.ha.suspectAfter")
                    .replace("selfFenceTimeout", "controller.ha.selfFenceTimeout").replace("fenceMargin", "controller.ha.fenceMargin")
                    .replace("brakeShare", "controller.ha.brakeShare").replace("brakeWindow", "controller.ha.brakeWindow").replace("bmcRetryInterval", "controller.ha.bmcRetryInterval")
                    .replace("bmcAttempts", "controller.ha.bmcAttempts").replace("restartLimit", "controller.ha.restartLimit")
                    .replace("restartWindow", "controller.ha.restartWindow"));
        }
        if (backup.chunkSize() < 65536 || backup.chunkSize() > 64 << 20 || Integer.bitCount(backup.chunkSize()) != 1) {
            throw new ConfigException("controller.backup.chunkSize must be a power of two from 65536 to 67108864");
        }
        if (backup.zstdLevel() < -7 || backup.zstdLevel() > 22) {
            throw new ConfigException("controller.backup.zstdLevel must be from -7 to 22");
        }
        if (backup.threads() < 1 || backup.threads() > 64) {
            throw new ConfigException("controller.backup.threads must be from 1 to 64");
        }
        if (backup.gcInterval().compareTo(Duration.ofMinutes(1)) < 0 || backup.gcGrace().isNegative()) {
            throw new ConfigException("controller.backup.gcInterval must be at least 1m and controller.backup.gcGrace not negative");
        }
        for (Backend b : storage.backends()) {
            if (storagePath(b).toAbsolutePath().normalize().equals(backupRepository().toAbsolutePath().normalize())) {
                throw new ConfigException("controller.backup.repository cannot be the directory of storage backend " + b.name());
            }
        }
        if (ha.tickInterval().compareTo(Duration.ofMillis(20)) < 0 || ha.tickInterval().compareTo(hostRenewInterval) > 0) {
            throw new ConfigException("controller.ha.tickInterval must be between 20ms and controller.hostRenewInterval");
        }
        if (tokenLifetime.isNegative() || tokenLifetime.isZero() || tokenLifetime.compareTo(Duration.ofDays(7)) > 0) {
            throw new ConfigException("controller.tokenLifetime must be between 1s and 7d");
        }
        if (leaderTtl.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new ConfigException("controller.leaderTtl must be at least 1s");
        }
        if (!"sqlite".equals(store.backend()) && !"etcd".equals(store.backend())) {
            throw new ConfigException("controller.store.backend must be sqlite or etcd, not " + store.backend());
        }
        if ("etcd".equals(store.backend()) && store.etcdEndpoints().isEmpty()) {
            throw new ConfigException("controller.store.etcdEndpoints must list at least one endpoint for the etcd backend");
        }
        if (secretKeyFile != null && ha.credentialKeyFile() != null && !secretKeyFile.equals(ha.credentialKeyFile())) {
            throw new ConfigException("controller.secretKeyFile and controller.ha.credentialKeyFile name different files; the cloud has "
                    + "one secret key: keep controller.secretKeyFile");
        }
        if ("etcd".equals(store.backend()) && secretKeyFile == null && ha.credentialKeyFile() == null) {
            throw new ConfigException("controller.secretKeyFile must be set with the etcd store: every controller reads the same key file");
        }
        var backendNames = new java.util.HashSet<String>();
        for (Backend b : storage.backends()) {
            if (b.name() == null || !b.name().matches("[A-Za-z0-9_-]{1,64}")) {
                throw new ConfigException("controller.storage.backends[].name must be 1 to 64 letters, digits, '-' or '_'");
            }
            if (!backendNames.add(b.name())) {
                throw new ConfigException("controller.storage.backends: two backends are named " + b.name());
            }
            if (!"file".equals(b.type()) && !"rbd".equals(b.type())) {
                throw new ConfigException("controller.storage.backends." + b.name() + ".type must be file or rbd, not " + b.type());
            }
            if ("rbd".equals(b.type())) {
                if (!b.pool().matches("[A-Za-z0-9_.-]{1,64}")) {
                    throw new ConfigException("controller.storage.backends." + b.name() + ".pool must be 1 to 64 letters, digits, '.', '-' or '_'");
                }
                if (!b.cephUser().matches("[A-Za-z0-9_.-]{1,64}")) {
                    throw new ConfigException("controller.storage.backends." + b.name() + ".cephUser must be 1 to 64 letters, digits, '.', '-' or '_'");
                }
                if (b.cephConf().toString().matches(".*[\\s:,=@].*")) {
                    throw new ConfigException("controller.storage.backends." + b.name() + ".cephConf must not contain whitespace or any of : , = @");
                }
                if (b.capacityGb() < 0) {
                    throw new ConfigException("controller.storage.backends." + b.name() + ".capacityGb must not be negative");
                }
            }
            if (b.overSubscriptionRatio() < 1.0) {
                throw new ConfigException("controller.storage.backends." + b.name() + ".overSubscriptionRatio must be at least 1.0");
            }
            if (b.reservedPercent() < 0 || b.reservedPercent() >= 100) {
                throw new ConfigException("controller.storage.backends." + b.name() + ".reservedPercent must be in [0, 100)");
            }
        }
        for (VolumeTypeSeed t : storage.volumeTypes()) {
            if (t.name() == null || t.backend() == null || !backendNames.contains(t.backend())) {
                throw new ConfigException("controller.storage.volumeTypes: type " + t.name() + " names backend " + t.backend()
                        + ", which is not in controller.storage.backends");
            }
        }
        if (storage.volumeTypes().stream().noneMatch(t -> t.name().equals(storage.defaultVolumeType()))) {
            throw new ConfigException("controller.storage.defaultVolumeType " + storage.defaultVolumeType() + " is not a volume type");
        }
        if (storage.rootDiskBackend() != null && !backendNames.contains(storage.rootDiskBackend())) {
            throw new ConfigException("controller.storage.rootDiskBackend " + storage.rootDiskBackend() + " is not a backend");
        }
        for (String physnet : network.physicalNetworks()) {
            if (physnet == null || !physnet.matches("[A-Za-z0-9_-]{1,64}")) {
                throw new ConfigException("controller.network.physicalNetworks: '" + physnet + "' must be 1 to 64 letters, digits, '-' or '_'");
            }
        }
        if (network.vniMin() < 1 || network.vniMax() > 16_777_215 || network.vniMin() > network.vniMax()) {
            throw new ConfigException("controller.network.vniMin/vniMax must give a range within 1-16777215");
        }
        if (network.overlayMtu() < 576 || network.overlayMtu() > 9000 || network.providerMtu() < 576 || network.providerMtu() > 9216) {
            throw new ConfigException("controller.network.overlayMtu and providerMtu must be between 576 and 9000");
        }
        if (network.ovnNorthbound() != null && !network.ovnNorthbound().matches("(tcp:[^:,]+:\\d{1,5}(,tcp:[^:,]+:\\d{1,5})*|unix:/.+)")) {
            throw new ConfigException("controller.network.ovnNorthbound must be tcp:HOST:PORT (comma-separated for a clustered "
                    + "database) or unix:/PATH, not " + network.ovnNorthbound());
        }
        if (api.port() < 0 || api.port() > 65535) {
            throw new ConfigException("controller.api.port must be 0..65535");
        }
        if (agentApi.port() < 0 || agentApi.port() > 65535 || (agentApi.port() != 0 && agentApi.port().equals(api.port()))) {
            throw new ConfigException("controller.agentApi.port must be 0..65535 and not controller.api.port: agents have their own listener");
        }
        if (agentApi.maxConnections() < 1 || agentApi.perClient() < 1) {
            throw new ConfigException("controller.agentApi.maxConnections and perClient must be positive");
        }
        if (api.threads() < 8 || agentApi.threads() < 4) {
            throw new ConfigException("controller.api.threads must be at least 8 and controller.agentApi.threads at least 4");
        }
        try {
            api.listenerLimits();
            login.settings();
        } catch (IllegalArgumentException e) {
            throw new ConfigException("controller.api.limits or controller.login: " + e.getMessage());
        }
        if (tls != null && (tls.certificate() == null || tls.key() == null)) {
            throw new ConfigException("controller.tls needs both certificate and key (PEM files)");
        }
        return this;
    }

    /**
     * The public API's listener: where it listens, the URL clients know it by, the largest JSON
     * body, its threads, what it allows each client ({@link Limits}), and the proxies (HAProxy in
     * front) whose X-Forwarded-For names the client.
     */
    public record Api(@JsonProperty("bind") String bind, @JsonProperty("port") Integer port,
                      @JsonProperty("publicUrl") String publicUrl, @JsonProperty("maxBodyBytes") Integer maxBodyBytes,
                      @JsonProperty("threads") Integer threads, @JsonProperty("limits") Limits limits,
                      @JsonProperty("trustedProxies") List<String> trustedProxies) {
        public Api {
            bind = bind == null ? "127.0.0.1" : bind;
            port = port == null ? 8774 : port;
            maxBodyBytes = maxBodyBytes == null ? 114_688 : maxBodyBytes;
            threads = threads == null ? 200 : threads;
            limits = limits == null ? new Limits(null, null, null, null, null, null, null, null, null) : limits;
            trustedProxies = trustedProxies == null ? List.of() : List.copyOf(trustedProxies);
        }

        public Api(String bind, Integer port, String publicUrl, Integer maxBodyBytes, Integer threads) {
            this(bind, port, publicUrl, maxBodyBytes, threads, null, null);
        }

        /** The listener's limits: those set here, the public API's defaults for the rest. */
        public io.halcyon.http.Limits listenerLimits() {
            return limits.over(io.halcyon.http.Limits.publicApi(threads));
        }
    }

    /** What the public API allows each client; every field defaults to {@link io.halcyon.http.Limits#publicApi}'s. */
    public record Limits(@JsonProperty("maxConnections") Integer maxConnections, @JsonProperty("perClient") Integer perClient,
                         @JsonProperty("headerTimeout") Duration headerTimeout, @JsonProperty("idleTimeout") Duration idleTimeout,
                         @JsonProperty("bodyTimeout") Duration bodyTimeout, @JsonProperty("minBodyRate") Long minBodyRate,
                         @JsonProperty("maxActive") Integer maxActive, @JsonProperty("maxQueued") Integer maxQueued,
                         @JsonProperty("queueTimeout") Duration queueTimeout) {
        io.halcyon.http.Limits over(io.halcyon.http.Limits d) {
            return new io.halcyon.http.Limits(d.threads(), or(maxConnections, d.maxConnections()), or(perClient, d.perClient()),
                    or(headerTimeout, d.headerTimeout()), or(idleTimeout, d.idleTimeout()), or(bodyTimeout, d.bodyTimeout()),
                    or(minBodyRate, d.minBodyRate()), or(maxActive, d.maxActive()), or(maxQueued, d.maxQueued()),
                    or(queueTimeout, d.queueTimeout()));
        }

        private static <T> T or(T v, T d) {
            return v == null ? d : v;
        }
    }

    /**
     * The agents' listener: its own port and threads, so that no load on the public API can delay a
     * host's lease renewal. Only holders of the agent token get past its first check.
     */
    /**
     * The agents' listener. Every host holds a long poll and renews each second, so the limits are
     * per host count: {@code maxConnections} in all (default 8192), {@code perClient} from one
     * address (default 64; a host needs a few).
     */
    public record AgentApi(@JsonProperty("bind") String bind, @JsonProperty("port") Integer port, @JsonProperty("threads") Integer threads,
                           @JsonProperty("maxConnections") Integer maxConnections, @JsonProperty("perClient") Integer perClient) {
        public AgentApi {
            bind = bind == null ? "127.0.0.1" : bind;
            port = port == null ? 8775 : port;
            threads = threads == null ? 32 : threads;
            maxConnections = maxConnections == null ? 8192 : maxConnections;
            perClient = perClient == null ? 64 : perClient;
        }

        public AgentApi(String bind, Integer port, Integer threads) {
            this(bind, port, threads, null, null);
        }

        /**
         * Every host holds a long poll and renewals wait for their batch, both without a thread, so
         * requests under way are bounded by the connections, not the threads: a bound by threads
         * would let a few dozen hosts' polls queue every renewal behind them.
         */
        public io.halcyon.http.Limits listenerLimits() {
            var d = io.halcyon.http.Limits.internal(threads);
            return new io.halcyon.http.Limits(d.threads(), maxConnections, perClient, d.headerTimeout(), d.idleTimeout(), d.bodyTimeout(),
                    d.minBodyRate(), maxConnections, d.maxQueued(), d.queueTimeout());
        }
    }

    /**
     * The certificate (PEM, chain) and key (PEM, PKCS#8) both listeners serve HTTPS with, and the
     * CA (PEM) whose certificates the agents' console listeners must show; none: plain HTTP.
     */
    public record Tls(@JsonProperty("certificate") Path certificate, @JsonProperty("key") Path key, @JsonProperty("ca") Path ca) {
        public io.halcyon.http.Tls.ServerFiles files() {
            return new io.halcyon.http.Tls.ServerFiles(certificate, key);
        }
    }

    /**
     * Logins (see {@code LoginGuard}): password-hashing threads and queue, checks under way per
     * client, failed-login throttling per client, and Keystone's lockout of a user after failures
     * in a row ({@code lockoutFailureAttempts} 0: never), users exempt from it.
     */
    public record Login(@JsonProperty("threads") Integer threads, @JsonProperty("queue") Integer queue,
                        @JsonProperty("perClient") Integer perClient, @JsonProperty("throttleFailures") Integer throttleFailures,
                        @JsonProperty("throttleWindow") Duration throttleWindow,
                        @JsonProperty("lockoutFailureAttempts") Integer lockoutFailureAttempts,
                        @JsonProperty("lockoutDuration") Duration lockoutDuration,
                        @JsonProperty("lockoutExempt") List<String> lockoutExempt,
                        @JsonProperty("refusalDelay") Duration refusalDelay) {
        public Login {
            var d = io.halcyon.api.auth.LoginGuard.Settings.defaults();
            threads = threads == null ? d.threads() : threads;
            queue = queue == null ? d.queue() : queue;
            perClient = perClient == null ? d.perClient() : perClient;
            throttleFailures = throttleFailures == null ? d.throttleFailures() : throttleFailures;
            throttleWindow = throttleWindow == null ? d.throttleWindow() : throttleWindow;
            lockoutFailureAttempts = lockoutFailureAttempts == null ? d.lockoutAttempts() : lockoutFailureAttempts;
            lockoutDuration = lockoutDuration == null ? d.lockoutDuration() : lockoutDuration;
            lockoutExempt = lockoutExempt == null ? List.copyOf(d.lockoutExempt()) : List.copyOf(lockoutExempt);
            refusalDelay = refusalDelay == null ? d.refusalDelay() : refusalDelay;
        }

        public io.halcyon.api.auth.LoginGuard.Settings settings() {
            return new io.halcyon.api.auth.LoginGuard.Settings(threads, queue, perClient, throttleFailures, throttleWindow,
                    lockoutFailureAttempts, lockoutDuration, java.util.Set.copyOf(lockoutExempt), refusalDelay);
        }
    }

    public record StoreConfig(@JsonProperty("backend") String backend, @JsonProperty("path") Path path,
                              @JsonProperty("etcdEndpoints") List<String> etcdEndpoints, @JsonProperty("timeout") Duration timeout) {
        public StoreConfig {
            backend = backend == null ? "sqlite" : backend;
            etcdEndpoints = etcdEndpoints == null ? List.of() : List.copyOf(etcdEndpoints);
            timeout = timeout == null ? Duration.ofSeconds(5) : timeout;
        }
    }

    /**
     * Instance HA (see {@code io.halcyon.ha}): timings beyond the host lease, the brake, BMC retries,
     * in-place restarts, the default policy, the key that seals BMC passwords, ipmitool, and
     * {@code witness}: the directory on the shared storage where hosts write their heartbeats (as
     * this controller mounts it; every controller and agent must name the same one), so that a
     * host cut from the control plane but alive on its storage is neither fenced nor self-fences.
     */
    public record Ha(@JsonProperty("suspectAfter") Duration suspectAfter,
                     @JsonProperty("selfFenceTimeout") Duration selfFenceTimeout,
                     @JsonProperty("fenceMargin") Duration fenceMargin,
                     @JsonProperty("brakeShare") Double brakeShare,
                     @JsonProperty("brakeWindow") Duration brakeWindow,
                     @JsonProperty("bmcRetryInterval") Duration bmcRetryInterval,
                     @JsonProperty("bmcAttempts") Integer bmcAttempts,
                     @JsonProperty("restartLimit") Integer restartLimit,
                     @JsonProperty("restartWindow") Duration restartWindow,
                     @JsonProperty("enabledByDefault") Boolean enabledByDefault,
                     @JsonProperty("defaultPriority") Integer defaultPriority,
                     @JsonProperty("credentialKeyFile") Path credentialKeyFile,
                     @JsonProperty("ipmitool") String ipmitool,
                     @JsonProperty("tickInterval") Duration tickInterval,
                     @JsonProperty("witness") Path witness) {
        public Ha {
            var d = io.halcyon.ha.HaSettings.defaults();
            suspectAfter = suspectAfter == null ? d.suspectAfter() : suspectAfter;
            selfFenceTimeout = selfFenceTimeout == null ? d.selfFenceTimeout() : selfFenceTimeout;
            fenceMargin = fenceMargin == null ? d.fenceMargin() : fenceMargin;
            brakeShare = brakeShare == null ? d.brakeShare() : brakeShare;
            brakeWindow = brakeWindow == null ? d.brakeWindow() : brakeWindow;
            bmcRetryInterval = bmcRetryInterval == null ? d.bmcRetryInterval() : bmcRetryInterval;
            bmcAttempts = bmcAttempts == null ? d.bmcAttempts() : bmcAttempts;
            restartLimit = restartLimit == null ? d.restartLimit() : restartLimit;
            restartWindow = restartWindow == null ? d.restartWindow() : restartWindow;
            enabledByDefault = enabledByDefault == null ? d.defaultPolicy().enabled() : enabledByDefault;
            defaultPriority = defaultPriority == null ? d.defaultPolicy().priority() : defaultPriority;
            ipmitool = ipmitool == null ? "ipmitool" : ipmitool;
            tickInterval = tickInterval == null ? Duration.ofMillis(100) : tickInterval;
        }
    }

    public record Scheduler(@JsonProperty("cpuAllocationRatio") Double cpuAllocationRatio,
                            @JsonProperty("ramAllocationRatio") Double ramAllocationRatio,
                            @JsonProperty("diskAllocationRatio") Double diskAllocationRatio,
                            @JsonProperty("hostSubsetSize") Integer hostSubsetSize) {
        public Scheduler {
            cpuAllocationRatio = cpuAllocationRatio == null ? 16.0 : cpuAllocationRatio;
            ramAllocationRatio = ramAllocationRatio == null ? 1.0 : ramAllocationRatio;
            diskAllocationRatio = diskAllocationRatio == null ? 1.0 : diskAllocationRatio;
            hostSubsetSize = hostSubsetSize == null ? 2 : hostSubsetSize;
        }
    }

    public record Quotas(@JsonProperty("instances") Integer instances, @JsonProperty("cores") Integer cores,
                         @JsonProperty("ram") Integer ram, @JsonProperty("volumes") Integer volumes,
                         @JsonProperty("gigabytes") Integer gigabytes, @JsonProperty("snapshots") Integer snapshots) {
        public Quotas {
            instances = instances == null ? 10 : instances;
            cores = cores == null ? 20 : cores;
            ram = ram == null ? 51200 : ram;
            volumes = volumes == null ? 10 : volumes;
            gigabytes = gigabytes == null ? 1000 : gigabytes;
            snapshots = snapshots == null ? 10 : snapshots;
        }
    }

    /**
     * Networking: the physical networks provider networks may use, the Geneve VNI range, the MTUs,
     * and OVN's northbound database ({@code tcp:HOST:PORT} or {@code unix:PATH}; none means the
     * API works but nothing is converged into OVN).
     */
    public record Network(@JsonProperty("physicalNetworks") List<String> physicalNetworks, @JsonProperty("vniMin") Integer vniMin,
                          @JsonProperty("vniMax") Integer vniMax, @JsonProperty("overlayMtu") Integer overlayMtu,
                          @JsonProperty("providerMtu") Integer providerMtu, @JsonProperty("ovnNorthbound") String ovnNorthbound) {
        public Network {
            physicalNetworks = physicalNetworks == null ? List.of("provider") : List.copyOf(physicalNetworks);
            vniMin = vniMin == null ? 1 : vniMin;
            vniMax = vniMax == null ? 65_535 : vniMax;
            overlayMtu = overlayMtu == null ? 1442 : overlayMtu;
            providerMtu = providerMtu == null ? 1500 : providerMtu;
        }
    }

    /** Storage backends (a directory shared by every host, for the file type), and the volume types users pick. */
    public record Storage(@JsonProperty("backends") List<Backend> backends, @JsonProperty("volumeTypes") List<VolumeTypeSeed> volumeTypes,
                          @JsonProperty("defaultVolumeType") String defaultVolumeType,
                          @JsonProperty("rootDiskBackend") String rootDiskBackend,
                          @JsonProperty("qemuImgBinary") String qemuImgBinary) {
        public Storage {
            backends = backends == null ? List.of(new Backend("file", "file", null, null, null)) : List.copyOf(backends);
            volumeTypes = volumeTypes == null ? List.of(new VolumeTypeSeed("default", backends.get(0).name(), "Default volume type"))
                    : List.copyOf(volumeTypes);
            defaultVolumeType = defaultVolumeType == null ? volumeTypes.get(0).name() : defaultVolumeType;
            qemuImgBinary = qemuImgBinary == null ? "qemu-img" : qemuImgBinary;
        }
    }

    /**
     * A backend: {@code file} (qcow2 files under {@code path}) or {@code rbd} (images in Ceph pool
     * {@code pool}, reached with {@code cephConf} as {@code cephUser}; {@code capacityGb} is what
     * admission counts on when the cluster reports no usage, as one without a ceph-mgr does).
     */
    public record Backend(@JsonProperty("name") String name, @JsonProperty("type") String type, @JsonProperty("path") Path path,
                          @JsonProperty("overSubscriptionRatio") Double overSubscriptionRatio,
                          @JsonProperty("reservedPercent") Double reservedPercent,
                          @JsonProperty("pool") String pool, @JsonProperty("cephConf") Path cephConf,
                          @JsonProperty("cephUser") String cephUser, @JsonProperty("capacityGb") Long capacityGb) {
        public Backend {
            type = type == null ? "file" : type;
            overSubscriptionRatio = overSubscriptionRatio == null ? 20.0 : overSubscriptionRatio;
            reservedPercent = reservedPercent == null ? 0.0 : reservedPercent;
            pool = pool == null ? "rbd" : pool;
            cephConf = cephConf == null ? Path.of("/etc/ceph/ceph.conf") : cephConf;
            cephUser = cephUser == null ? "admin" : cephUser;
            capacityGb = capacityGb == null ? 0L : capacityGb;
        }

        public Backend(String name, String type, Path path, Double overSubscriptionRatio, Double reservedPercent) {
            this(name, type, path, overSubscriptionRatio, reservedPercent, null, null, null, null);
        }
    }

    public record VolumeTypeSeed(@JsonProperty("name") String name, @JsonProperty("backend") String backend,
                                 @JsonProperty("description") String description) {
    }

    /** The backend's directory: as configured, else {@code <dataDir>/storage/<name>}. */
    public Path storagePath(Backend b) {
        return b.path() != null ? b.path() : dataDir.resolve("storage").resolve(b.name());
    }

    public record Bootstrap(@JsonProperty("flavors") List<FlavorSeed> flavors, @JsonProperty("images") List<ImageSeed> images) {
        public Bootstrap {
            flavors = flavors == null ? List.of() : List.copyOf(flavors);
            images = images == null ? List.of() : List.copyOf(images);
        }
    }

    public record FlavorSeed(@JsonProperty("id") String id, @JsonProperty("name") String name, @JsonProperty("vcpus") int vcpus,
                             @JsonProperty("ramMb") int ramMb, @JsonProperty("diskGb") int diskGb) {
    }

    public record ImageSeed(@JsonProperty("name") String name, @JsonProperty("file") Path file,
                            @JsonProperty("diskFormat") String diskFormat) {
    }

    /**
     * Cinder backups: the repository (a directory every controller reaches: beside the first
     * storage backend by default), its encryption key file if any, the repository's chunk size and
     * zstd level (used when it is made), worker threads per backup, and the garbage collection.
     */
    public record Backup(@JsonProperty("enabled") Boolean enabled, @JsonProperty("repository") Path repository,
                         @JsonProperty("keyFile") Path keyFile, @JsonProperty("chunkSize") Integer chunkSize,
                         @JsonProperty("zstdLevel") Integer zstdLevel, @JsonProperty("threads") Integer threads,
                         @JsonProperty("gcInterval") Duration gcInterval, @JsonProperty("gcGrace") Duration gcGrace,
                         @JsonProperty("qemuNbdBinary") String qemuNbdBinary) {
        public Backup {
            enabled = enabled == null || enabled;
            chunkSize = chunkSize == null ? 4 << 20 : chunkSize;
            zstdLevel = zstdLevel == null ? 1 : zstdLevel;
            threads = threads == null ? Math.max(1, Runtime.getRuntime().availableProcessors()) : threads;
            gcInterval = gcInterval == null ? Duration.ofHours(1) : gcInterval;
            gcGrace = gcGrace == null ? Duration.ofMinutes(5) : gcGrace;
            qemuNbdBinary = qemuNbdBinary == null ? "qemu-nbd" : qemuNbdBinary;
        }
    }

    /** The backup repository's directory: as configured, else {@code backups} beside the first backend's directory. */
    public Path backupRepository() {
        return backup.repository() != null ? backup.repository() : storagePath(storage.backends().get(0)).resolveSibling("backups");
    }

    /**
     * The cloud's secret key, which seals the secrets in the store: {@code secretKeyFile}, else
     * {@code ha.credentialKeyFile} (as older configurations name it), else {@code secret.key} in
     * the data directory (the sqlite store only; made at first start).
     */
    public Path secretKey() {
        return secretKeyFile != null ? secretKeyFile : ha.credentialKeyFile() != null ? ha.credentialKeyFile() : dataDir.resolve("secret.key");
    }

    public Path storePath() {
        return store.path() != null ? store.path() : dataDir.resolve("halcyon.db");
    }
}
