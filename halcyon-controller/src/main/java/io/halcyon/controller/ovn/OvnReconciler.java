package io.halcyon.controller.ovn;

import com.fasterxml.jackson.databind.JsonNode;
import io.halcyon.model.compute.Server;
import io.halcyon.model.network.Port;
import io.halcyon.runtime.Kinds;
import io.halcyon.store.Txn;
import io.halcyon.ovsdb.OvsdbClient;
import io.halcyon.ovsdb.OvsdbException;
import io.halcyon.ovsdb.RowSync;
import io.halcyon.runtime.Leadership;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * The leader converges OVN's northbound database from the store: a full comparison each pass, run
 * when a networking record, a server's placement or a host changes, and every {@code resync} in
 * any case, so rows dropped or changed by hand come back. Speaks OVSDB JSON-RPC itself (one
 * connection, one transaction per pass) rather than forking ovn-nbctl per change.
 */
public final class OvnReconciler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OvnReconciler.class);

    private final Resources res;
    private final String target;
    private final Leadership leadership;
    private final Duration resync;
    private final Object signal = new Object();
    private final Thread thread;
    private boolean dirty = true;
    private volatile boolean closed;
    private OvsdbClient client;
    private volatile long passes;
    private volatile String lastError;

    public OvnReconciler(Resources res, String target, Leadership leadership, Duration resync) {
        this.res = requireNonNull(res, "res is null");
        this.target = requireNonNull(target, "target is null");
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.resync = requireNonNull(resync, "resync is null");
        thread = new Thread(this::loop, "ovn-northbound");
        thread.setDaemon(true);
    }

    public void start() {
        res.networks().addHandler((id, old, now) -> trigger());
        res.subnets().addHandler((id, old, now) -> trigger());
        res.ports().addHandler((id, old, now) -> trigger());
        res.securityGroups().addHandler((id, old, now) -> trigger());
        res.securityGroupRules().addHandler((id, old, now) -> trigger());
        res.routers().addHandler((id, old, now) -> trigger());
        res.floatingIps().addHandler((id, old, now) -> trigger());
        res.hostLeases().addHandler((id, old, now) -> trigger());
        res.servers().addHandler((id, old, now) -> {
            String before = old == null ? null : old.value().status().host();
            String after = now == null ? null : now.value().status().host();
            if (!java.util.Objects.equals(before, after)) {
                trigger();
            }
        });
        thread.start();
    }

    public void trigger() {
        synchronized (signal) {
            dirty = true;
            signal.notifyAll();
        }
    }

    /** Completed passes (each one compared everything); for tests and health. */
    public long passes() {
        return passes;
    }

    public String lastError() {
        return lastError;
    }

    private void loop() {
        while (!closed) {
            try {
                synchronized (signal) {
                    if (!dirty) {
                        signal.wait(resync.toMillis());
                    }
                    dirty = false;
                }
                Thread.sleep(20); // gather a burst of changes into one pass
                if (leadership.isLeader()) {
                    pass();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                lastError = e.getMessage();
                log.warn("event=ovn_sync_failed target={} error={}", target, e.toString());
                closeClient();
                sleepQuietly(1000);
                trigger();
            }
        }
    }

    /** One full comparison and the transaction that fixes what differs. */
    public RowSync.Result pass() {
        OvsdbClient c = client();
        res.sync();
        RowSync.Result r = new RowSync(c, OvnModel.DB, OvnModel.TABLES, Duration.ofSeconds(30)).sync(OvnModel.rows(state(res)));
        passes++;
        lastError = null;
        if (r.changed()) {
            log.info("event=ovn_synced inserted={} updated={} deleted={}", r.inserted(), r.updated(), r.deleted());
        }
        portStatus(c);
        return r;
    }

    /** A port is ACTIVE once OVN has bound it on a chassis (its logical port is up), DOWN otherwise, as Neutron shows it. */
    private void portStatus(OvsdbClient c) {
        var up = new HashMap<String, Boolean>();
        for (var row : c.select(OvnModel.DB, "Logical_Switch_Port", List.of("name", "up"), Duration.ofSeconds(30))) {
            JsonNode u = row.get("up");
            up.put(row.path("name").asText(), u != null && u.isBoolean() && u.asBoolean());
        }
        var repo = res.repo(Kinds.PORTS);
        for (Versioned<Port> v : res.ports().list()) {
            Port p = v.value();
            if (!up.containsKey(p.id())) {
                continue;
            }
            String want = up.get(p.id()) ? "ACTIVE" : "DOWN";
            if (!want.equals(p.status())) {
                res.store().txn(Txn.builder().when(leadership.fence(), repo.unchanged(p.id(), v.revision()))
                        .onSuccess(repo.put(p.withStatus(want, res.clock().now()))).build());
            }
        }
    }

    /** The store's networking records, where each server runs, and the hosts alive to carry router gateways. */
    public static OvnModel.State state(Resources res) {
        Map<String, String> hosts = new HashMap<>();
        for (Versioned<Server> s : res.servers().list()) {
            if (s.value().status().host() != null) {
                hosts.put(s.value().id(), s.value().status().host());
            }
        }
        var gateways = new ArrayList<String>();
        res.hosts().list().forEach(h -> {
            if (res.hostUp(h.value().name())) {
                gateways.add(h.value().name());
            }
        });
        gateways.sort(null);
        return new OvnModel.State(values(res.networks().list()), values(res.subnets().list()), values(res.ports().list()),
                values(res.securityGroups().list()), values(res.securityGroupRules().list()), values(res.routers().list()),
                values(res.floatingIps().list()), hosts, gateways);
    }

    private static <T> List<T> values(List<Versioned<T>> list) {
        return list.stream().map(Versioned::value).toList();
    }

    private synchronized OvsdbClient client() {
        if (client == null || !client.isOpen()) {
            try {
                client = OvsdbClient.connect(target);
            } catch (IOException e) {
                throw new OvsdbException("cannot connect to OVN northbound " + target + ": " + e.getMessage(), e);
            }
        }
        return client;
    }

    private synchronized void closeClient() {
        if (client != null) {
            client.close();
            client = null;
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        closeClient();
    }
}
