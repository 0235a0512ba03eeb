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
        @JsonProperty("store") StoreConfig store,
        @JsonProperty("region") String region,
        @JsonProperty("adminPassword") String adminPassword,
        @JsonProperty("agentToken") String agentToken,
        @JsonProperty("tokenLifetime") Duration tokenLifetime,
        @JsonProperty("leaderTtl") Duration leaderTtl,
        @JsonProperty("hostLeaseTtl") Duration hostLeaseTtl,
        @JsonProperty("hostRenewInterval") Duration hostRenewInterval,
        @JsonProperty("maxImageBytes") Long maxImageBytes,
        @JsonProperty("scheduler") Scheduler scheduler,
        @JsonProperty("quotas") Quotas quotas,
        @JsonProperty("bootstrap") Bootstrap bootstrap) {

    public ControllerConfig {
        if (dataDir == null) {
            dataDir = Path.of(System.getProperty("user.home"), ".halcyon", "data");
        }
        api = api == null ? new Api(null, null, null, null, null) : api;
        store = store == null ? new StoreConfig(null, null, null, null) : store;
        region = region == null ? "RegionOne" : region;
        tokenLifetime = tokenLifetime == null ? Duration.ofHours(1) : tokenLifetime;
        leaderTtl = leaderTtl == null ? Duration.ofSeconds(5) : leaderTtl;
        hostLeaseTtl = hostLeaseTtl == null ? Duration.ofSeconds(10) : hostLeaseTtl;
        hostRenewInterval = hostRenewInterval == null ? Duration.ofSeconds(2) : hostRenewInterval;
        maxImageBytes = maxImageBytes == null ? 1L << 40 : maxImageBytes;
        scheduler = scheduler == null ? new Scheduler(null, null, null, null) : scheduler;
        quotas = quotas == null ? new Quotas(null, null, null) : quotas;
        bootstrap = bootstrap == null ? new Bootstrap(null, null) : bootstrap;
    }

    /** Checks what types cannot: secrets present, timings that make sense together. */
    public ControllerConfig validate() {
        if (adminPassword == null || adminPassword.length() < 8) {
            throw new ConfigException("controller.adminPassword must be set (at least 8 characters)");
        }
        if (agentToken == null || agentToken.length() < 16) {
            throw new ConfigException("controller.agentToken must be set (at least 16 characters)");
        }
        if (hostRenewInterval.compareTo(hostLeaseTtl.dividedBy(2)) > 0) {
            throw new ConfigException("controller.hostRenewInterval (" + hostRenewInterval + ") must be at most half of "
                    + "controller.hostLeaseTtl (" + hostLeaseTtl + ") so one lost renewal does not expire a host");
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
        if (api.port() < 0 || api.port() > 65535) {
            throw new ConfigException("controller.api.port must be 0..65535");
        }
        return this;
    }

    public record Api(@JsonProperty("bind") String bind, @JsonProperty("port") Integer port,
                      @JsonProperty("publicUrl") String publicUrl, @JsonProperty("maxBodyBytes") Integer maxBodyBytes,
                      @JsonProperty("threads") Integer threads) {
        public Api {
            bind = bind == null ? "127.0.0.1" : bind;
            port = port == null ? 8774 : port;
            maxBodyBytes = maxBodyBytes == null ? 114_688 : maxBodyBytes;
            threads = threads == null ? 200 : threads;
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
                         @JsonProperty("ram") Integer ram) {
        public Quotas {
            instances = instances == null ? 10 : instances;
            cores = cores == null ? 20 : cores;
            ram = ram == null ? 51200 : ram;
        }
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

    public Path storePath() {
        return store.path() != null ? store.path() : dataDir.resolve("halcyon.db");
    }
}
