package io.halcyon.api.ha;

import io.halcyon.api.http.ApiException;
import io.halcyon.config.Sealer;
import io.halcyon.ha.HaSettings;
import io.halcyon.model.host.HaCluster;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostEvent;
import io.halcyon.model.host.HostHaConfig;
import io.halcyon.model.host.HostHaStatus;
import io.halcyon.runtime.ConflictException;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * The operators' side of instance HA: views of each host's HA state and history, maintenance,
 * the cluster-wide and per-host "disarmed" switches, and BMC credentials (sealed before they are
 * stored). Every change is one compare-and-set write; bad input changes nothing.
 */
public final class HostHaService {
    private static final Logger log = LoggerFactory.getLogger(HostHaService.class);
    private static final Pattern ADDRESS = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.:\\-]{0,252})");

    private final Resources res;
    private final HaSettings settings;
    private final Sealer sealer;
    private final Repository<HostHaConfig> configs;
    private final Repository<HaCluster> cluster;

    public HostHaService(Resources res, HaSettings settings, Sealer sealer) {
        this.res = requireNonNull(res, "res is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.sealer = requireNonNull(sealer, "sealer is null");
        this.configs = res.repo(Kinds.HOST_HA_CONFIG);
        this.cluster = res.repo(Kinds.HA_CLUSTER);
    }

    private Host host(String name) {
        res.sync();
        return res.hosts().get(name).map(Versioned::value)
                .orElseThrow(() -> ApiException.notFound("Host " + name + " could not be found."));
    }

    public List<Map<String, Object>> list() {
        res.sync();
        var out = new ArrayList<Map<String, Object>>();
        res.hosts().list().stream().map(Versioned::value).sorted(Comparator.comparing(Host::name)).forEach(h -> out.add(view(h)));
        return out;
    }

    public Map<String, Object> show(String name) {
        return view(host(name));
    }

    private Map<String, Object> view(Host h) {
        var m = new LinkedHashMap<String, Object>();
        HostHaStatus st = res.hostHa().get(h.name()).map(Versioned::value).orElse(null);
        HostHaConfig cfg = res.hostHaConfig().get(h.name()).map(Versioned::value).orElse(null);
        m.put("name", h.name());
        m.put("state", st == null ? "up" : st.state());
        m.put("since", st == null ? h.registeredAt().toString() : st.since().toString());
        m.put("reason", st == null ? "registered" : st.reason());
        m.put("lease", res.hostUp(h.name()) ? "held" : "expired");
        m.put("enabled", h.enabled());
        m.put("maintenance", cfg != null && cfg.maintenance());
        m.put("haDisarmed", cfg != null && cfg.disarmed());
        m.put("bmc", cfg == null || cfg.bmc() == null ? null
                : Map.of("address", cfg.bmc().address(), "port", cfg.bmc().port(), "username", cfg.bmc().username()));
        m.put("watchdogTimeoutSeconds", h.watchdogTimeoutMillis() / 1000.0);
        boolean wd = h.watchdogTimeoutMillis() > 0
                && settings.selfFenceWait(java.time.Duration.ofMillis(h.watchdogTimeoutMillis())).isPresent();
        m.put("fencing", cfg != null && cfg.bmc() != null ? (wd ? "bmc, watchdog" : "bmc") : wd ? "watchdog" : "none (unfenceable)");
        var beat = res.hostBeats().get(h.name()).map(Versioned::value).orElse(null);
        m.put("lastRenewal", beat == null ? null : beat.at().toString());
        m.put("selfFenceArmed", beat != null && beat.armed());
        return m;
    }

    public List<Map<String, Object>> events(String name) {
        host(name);
        var out = new ArrayList<Map<String, Object>>();
        res.hostEvents().byIndex(Resources.BY_HOST, name).stream().map(Versioned::value)
                .sorted(Comparator.comparing(HostEvent::key)).forEach(e -> {
                    var m = new LinkedHashMap<String, Object>();
                    m.put("at", e.at().toString());
                    m.put("from", e.from());
                    m.put("to", e.to());
                    m.put("reason", e.reason());
                    out.add(m);
                });
        return out;
    }

    public Map<String, Object> setMaintenance(String name, boolean on) {
        host(name);
        update(name, c -> c.withMaintenance(on, now()));
        log.info("event=host_maintenance host={} on={}", name, on);
        return show(name);
    }

    public Map<String, Object> setDisarmed(String name, boolean disarmed) {
        host(name);
        update(name, c -> c.withDisarmed(disarmed, now()));
        log.info("event=host_ha_{} host={}", disarmed ? "disarmed" : "armed", name);
        return show(name);
    }

    public Map<String, Object> setBmc(String name, String address, Integer port, String username, String password) {
        host(name);
        if (address == null || !ADDRESS.matcher(address).matches()) {
            throw ApiException.badRequest("'address' must be the BMC's host name or IP address.");
        }
        int p = port == null ? 623 : port;
        if (p < 1 || p > 65535) {
            throw ApiException.badRequest("'port' must be 1..65535 (IPMI over LAN uses 623).");
        }
        if (username == null || username.isEmpty() || username.length() > 16) {
            throw ApiException.badRequest("'username' must be 1 to 16 characters (IPMI's limit).");
        }
        if (password == null || password.isEmpty() || password.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 20) {
            throw ApiException.badRequest("'password' must be 1 to 20 bytes (IPMI 2.0's limit).");
        }
        // sealed for the host: a sealed password copied onto another host's record does not open
        var bmc = new HostHaConfig.Bmc(address, p, username, sealer.seal(name, password));
        update(name, c -> c.withBmc(bmc, now()));
        log.info("event=host_bmc_set host={} address={} port={} username={}", name, address, p, username);
        return show(name);
    }

    public Map<String, Object> clearBmc(String name) {
        host(name);
        update(name, c -> c.withBmc(null, now()));
        log.info("event=host_bmc_cleared host={}", name);
        return show(name);
    }

    public Map<String, Object> cluster() {
        res.sync();
        HaCluster c = res.haCluster().get(HaCluster.ID).map(Versioned::value).orElse(HaCluster.initial(now()));
        var m = new LinkedHashMap<String, Object>();
        m.put("disarmed", c.disarmed());
        m.put("alarm", c.alarm());
        m.put("alarmReason", c.alarmReason());
        var s = new LinkedHashMap<String, Object>();
        s.put("renewIntervalSeconds", settings.renewInterval().toMillis() / 1000.0);
        s.put("leaseTtlSeconds", settings.leaseTtl().toMillis() / 1000.0);
        s.put("suspectAfterSeconds", settings.suspectAfter().toMillis() / 1000.0);
        s.put("selfFenceTimeoutSeconds", settings.selfFenceTimeout().toMillis() / 1000.0);
        s.put("fenceMarginSeconds", settings.fenceMargin().toMillis() / 1000.0);
        s.put("brakeShare", settings.brakeShare());
        s.put("haByDefault", settings.defaultPolicy().enabled());
        m.put("settings", s);
        return m;
    }

    public Map<String, Object> setClusterDisarmed(boolean disarmed) {
        for (int attempt = 0; attempt < 50; attempt++) {
            var cur = cluster.get(HaCluster.ID);
            try {
                if (cur.isEmpty()) {
                    cluster.create(HaCluster.initial(now()).withDisarmed(disarmed, now()));
                } else {
                    cluster.update(cur.get().value().withDisarmed(disarmed, now()), cur.get().revision());
                }
                log.info("event=cluster_ha_{}", disarmed ? "disarmed" : "armed");
                return cluster();
            } catch (ConflictException e) {
                Thread.onSpinWait();
            }
        }
        throw ApiException.conflict("The cluster's HA settings kept changing; retry.");
    }

    private void update(String host, UnaryOperator<HostHaConfig> fn) {
        for (int attempt = 0; attempt < 50; attempt++) {
            var cur = configs.get(host);
            try {
                if (cur.isEmpty()) {
                    configs.create(fn.apply(HostHaConfig.empty(host, now())));
                } else {
                    configs.update(fn.apply(cur.get().value()), cur.get().revision());
                }
                res.sync();
                return;
            } catch (ConflictException e) {
                Thread.onSpinWait();
            }
        }
        throw ApiException.conflict("The HA settings of host " + host + " kept changing; retry.");
    }

    private Instant now() {
        return res.clock().now();
    }
}
