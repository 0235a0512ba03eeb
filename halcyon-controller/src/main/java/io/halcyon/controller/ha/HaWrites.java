package io.halcyon.controller.ha;

import io.halcyon.ha.HaAction;
import io.halcyon.ha.HaSettings;
import io.halcyon.ha.HostHaState;
import io.halcyon.model.Ids;
import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerLifecycle;
import io.halcyon.model.compute.VmState;
import io.halcyon.model.host.HaCluster;
import io.halcyon.model.host.HaRecovery;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.model.host.HostEvent;
import io.halcyon.model.host.HostHaStatus;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Leadership;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Compare;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import static java.util.Objects.requireNonNull;

/**
 * Applies the HA monitor's decisions to the store. Every write carries the leader's fence and
 * compares what the decision was made from (the host's HA record, the renewal record when a host
 * is declared fenced, the server and its allocations), so a decision made on stale state fails and
 * is made again on the next tick. Each host transition is kept as a host event.
 */
final class HaWrites {
    private static final Logger log = LoggerFactory.getLogger(HaWrites.class);
    private static final int BATCH = 20;

    private final Resources res;
    private final Leadership leadership;
    private final HaSettings settings;
    private final Repository<HostHaStatus> statuses;
    private final Repository<HostEvent> events;
    private final Repository<Server> servers;
    private final Repository<HaRecovery> recoveries;
    private final Repository<HostAllocation> allocations;
    private final Repository<InstanceAction> actions;
    private final Repository<HaCluster> cluster;
    private final AtomicLong seq = new AtomicLong();

    HaWrites(Resources res, Leadership leadership, HaSettings settings) {
        this.res = requireNonNull(res, "res is null");
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.settings = requireNonNull(settings, "settings is null");
        this.statuses = res.repo(Kinds.HOST_HA);
        this.events = res.repo(Kinds.HOST_EVENTS);
        this.servers = res.repo(Kinds.SERVERS);
        this.recoveries = res.repo(Kinds.HA_RECOVERIES);
        this.allocations = res.repo(Kinds.ALLOCATIONS);
        this.actions = res.repo(Kinds.INSTANCE_ACTIONS);
        this.cluster = res.repo(Kinds.HA_CLUSTER);
    }

    private Instant now() {
        return res.clock().now();
    }

    private Txn.Builder fenced() {
        return Txn.builder().when(leadership.fence());
    }

    private boolean commit(Txn.Builder txn, String what) {
        TxnResult r = res.store().txn(txn.build());
        if (!r.succeeded()) {
            log.info("event=ha_write_raced what=\"{}\"", what);
            return false;
        }
        res.awaitRevision(r.revision());
        return true;
    }

    HostEvent event(String host, String from, String to, String reason) {
        return new HostEvent(host, now(), seq.incrementAndGet(), from, to, reason);
    }

    /** @param batches when the host is declared fenced: each controller's batch of renewals as the catch-up that confirmed the silence saw it */
    boolean transition(HaAction.Transition t, java.util.Map<String, Long> batches) {
        var cur = res.hostHa().get(t.host());
        var txn = fenced().when(cur.map(v -> statuses.unchanged(t.host(), v.revision())).orElse(statuses.absent(t.host())));
        long fencedBeat = cur.map(v -> v.value().fencedBeat()).orElse(0L);
        if (t.to() == HostHaState.FENCED) {
            // the fencing token of this decision: the renewal it saw must still be the last one
            String beatKey = Kinds.HOST_BEATS.key(t.host());
            txn.when(t.beatRevision() == 0 ? Compare.absent(beatKey) : Compare.modRevision(beatKey, t.beatRevision()));
            // and no controller wrote a batch of renewals since the catch-up that confirmed the silence
            batches.forEach((controller, rev) -> txn.when(Compare.modRevision(Kinds.HOST_BEAT_BATCHES.key(controller), rev)));
            fencedBeat = t.beatRevision();
        }
        // the storage fence's entries stay recorded until they are lifted, whatever the state
        var status = new HostHaStatus(t.host(), t.to().wire(), now(), t.reason(), fencedBeat,
                cur.map(v -> v.value().storageFence()).orElse(List.of()));
        txn.onSuccess(statuses.put(status), events.put(event(t.host(), t.from().wire(), t.to().wire(), t.reason())));
        if (!commit(txn, "transition " + t.host() + " to " + t.to().wire())) {
            return false;
        }
        var line = "event=host_ha_state host={} from={} to={} epoch={} reason=\"{}\"";
        if (t.to() == HostHaState.FENCED || t.to() == HostHaState.UNFENCEABLE || t.to() == HostHaState.DOWN) {
            log.warn(line, t.host(), t.from().wire(), t.to().wire(), leadership.epoch(), t.reason());
        } else {
            log.info(line, t.host(), t.from().wire(), t.to().wire(), leadership.epoch(), t.reason());
        }
        return true;
    }

    /** The leader's epoch checked against the store (a write that only succeeds while it leads), just before an external action. */
    boolean stillLeading(String what) {
        TxnResult r = res.store().txn(fenced().build());
        if (!r.succeeded()) {
            log.warn("event=ha_external_action_refused what=\"{}\" reason=\"not the leader any more\"", what);
        }
        return r.succeeded();
    }

    /** Records a power-off attempt (with its token and evidence) before the BMC is asked. */
    boolean powerOffStarted(HaAction.PowerOff p) {
        var e = event(p.host(), "fencing", "power-off", "token " + p.token() + ": " + p.evidence());
        boolean ok = commit(fenced().onSuccess(events.put(e)), "power-off record for " + p.host());
        if (ok) {
            log.warn("event=host_power_off host={} token={} evidence=\"{}\"", p.host(), p.token(), p.evidence());
        }
        return ok;
    }

    /**
     * A storage fence put up or taken down, as a host event (none when {@code to} is null), with the blocklist entries the host
     * now has (recorded with its HA status so that whoever leads can lift them); false when the
     * write did not land.
     */
    boolean storageEvent(String host, String to, String detail, java.util.function.UnaryOperator<List<String>> entries) {
        for (int attempt = 0; attempt < 20; attempt++) {
            var cur = res.hostHa().get(host);
            var txn = fenced();
            if (to != null) {
                txn.onSuccess(events.put(event(host, "fenced", to, detail)));
            }
            if (cur.isPresent()) {
                var next = entries.apply(cur.get().value().storageFence());
                txn.when(statuses.unchanged(host, cur.get().revision())).onSuccess(statuses.put(cur.get().value().withStorageFence(next)));
            }
            TxnResult r = res.store().txn(txn.build());
            if (r.succeeded()) {
                return true;
            }
            if (!leadership.isLeader()) {
                return false;
            }
        }
        log.warn("event=ha_write_failed what=\"storage fence record for {}\" reason=\"the host's status kept changing\"", host);
        return false;
    }

    void bmcOutcome(io.halcyon.ha.BmcOutcome o) {
        var e = event(o.host(), "power-off", o.result().name().toLowerCase(java.util.Locale.ROOT), "token " + o.token() + ": " + o.detail());
        commit(fenced().onSuccess(events.put(e)), "bmc outcome for " + o.host());
        log.warn("event=host_bmc_outcome host={} token={} result={} detail=\"{}\"", o.host(), o.token(), o.result(), o.detail());
    }

    void dispose(HaAction.Dispose d) {
        var status = res.hostHa().get(d.host());
        if (status.isEmpty() || !"fenced".equals(status.get().value().state())) {
            return;
        }
        String reason = "host " + d.host() + " was fenced: " + status.get().value().reason();
        var all = new java.util.ArrayList<String>(d.stop());
        all.addAll(d.recover());
        for (int i = 0; i < all.size(); i += BATCH) {
            var txn = fenced().when(statuses.unchanged(d.host(), status.get().revision()));
            var ids = all.subList(i, Math.min(all.size(), i + BATCH));
            for (String id : ids) {
                var v = res.servers().get(id);
                if (v.isEmpty()) {
                    continue;
                }
                Server s = v.get().value();
                Instant now = now();
                txn.when(servers.unchanged(id, v.get().revision()));
                if (d.recover().contains(id)) {
                    String requestId = "req-" + Ids.newId();
                    txn.onSuccess(servers.put(ServerLifecycle.awaitingRecovery(s, now)),
                            recoveries.put(new HaRecovery(id, d.host(), requestId, now)),
                            actions.put(new InstanceAction(requestId, id, InstanceAction.EVACUATE, s.projectId(), null, now, now, null,
                                    List.of(new InstanceAction.Event("ha_host_fenced", now, now, "Success", d.host(), reason)))));
                } else {
                    Server next = s.status().vmState() == VmState.BUILDING
                            ? ServerLifecycle.recoveryBlocked(s, "Its host " + d.host() + " failed during the build and was fenced.", now)
                            : ServerLifecycle.stoppedByFence(s, now);
                    String requestId = "req-" + Ids.newId();
                    txn.onSuccess(servers.put(next.withSpec(next.spec().withPower(io.halcyon.model.compute.PowerIntent.OFF))),
                            actions.put(new InstanceAction(requestId, id, InstanceAction.STOP, s.projectId(), null, now, now, null,
                                    List.of(new InstanceAction.Event("ha_host_fenced", now, now, "Success", d.host(),
                                            reason + "; the server is not HA, so it stays off")))));
                }
            }
            if (commit(txn, "dispose guests of " + d.host())) {
                for (String id : ids) {
                    log.warn("event=ha_guest_{} server_id={} host={}", d.recover().contains(id) ? "awaits_recovery" : "stopped", id, d.host());
                }
            }
        }
    }

    void evacuate(HaAction.Evacuate e) {
        var v = res.servers().get(e.serverId());
        var rec = res.haRecoveries().get(e.serverId());
        if (v.isEmpty() || rec.isEmpty() || v.get().value().status().epoch() != e.epoch() || !e.from().equals(v.get().value().status().host())) {
            return;
        }
        Server s = v.get().value();
        Instant now = now();
        var claim = HaInputs.claim(s);
        var from = res.allocations().get(e.from());
        var to = res.allocations().get(e.to());
        Server next = ServerLifecycle.evacuated(s, e.to(), now);
        var txn = fenced().when(servers.unchanged(s.id(), v.get().revision()), recoveries.unchanged(s.id(), rec.get().revision()))
                .onSuccess(servers.put(next));
        // The record stays until the move is seen everywhere (dropStaleRecoveries): caches apply a
        // transaction's changes one at a time, and an old host that saw the record gone before the
        // server moved would be told to start the guest where it was, beside its new host.
        if (e.to().equals(rec.get().value().fromHost())) {
            txn.onSuccess(recoveries.deleteOp(s.id()));
        }
        from.ifPresent(a -> txn.when(allocations.unchanged(e.from(), a.revision())).onSuccess(allocations.put(a.value().without(s.id()))));
        HostAllocation target = to.map(Versioned::value).orElse(HostAllocation.empty(e.to()));
        txn.when(to.map(a -> allocations.unchanged(e.to(), a.revision())).orElse(allocations.absent(e.to())))
                .onSuccess(allocations.put(target.with(s.id(), claim)));
        action(s.id(), rec.get().value().requestId()).ifPresent(a -> txn.when(actions.unchanged(Kinds.INSTANCE_ACTIONS.idOf().apply(a.value()),
                a.revision())).onSuccess(actions.put(a.value().withEvent(new InstanceAction.Event("ha_restart_elsewhere", now, now, "Success",
                e.to(), "restarting on " + e.to() + " at epoch " + next.status().epoch() + " (priority " + e.priority() + ")"), now))));
        if (commit(txn, "evacuate " + s.id())) {
            log.warn("event=ha_guest_evacuated server_id={} from={} to={} epoch={} priority={}", s.id(), e.from(), e.to(),
                    next.status().epoch(), e.priority());
        }
    }

    void unplaceable(HaAction.Unplaceable u) {
        var v = res.servers().get(u.serverId());
        var rec = res.haRecoveries().get(u.serverId());
        if (v.isEmpty() || rec.isEmpty()) {
            return;
        }
        Instant now = now();
        var txn = fenced().when(servers.unchanged(u.serverId(), v.get().revision()))
                .onSuccess(servers.put(ServerLifecycle.recoveryBlocked(v.get().value(), u.reason(), now)));
        action(u.serverId(), rec.get().value().requestId()).ifPresent(a -> txn.when(actions.unchanged(Kinds.INSTANCE_ACTIONS.idOf().apply(a.value()),
                a.revision())).onSuccess(actions.put(a.value().withEvent(new InstanceAction.Event("ha_restart_elsewhere", now, now, "Error", null,
                u.reason() + " It is tried again when room appears."), now))));
        if (commit(txn, "recovery blocked " + u.serverId())) {
            log.warn("event=ha_guest_unplaceable server_id={} host={} reason=\"{}\"", u.serverId(), u.host(), u.reason());
        }
    }

    void alarm(HaAction.Alarm a) {
        var cur = res.haCluster().get(HaCluster.ID);
        HaCluster next = cur.map(Versioned::value).orElse(HaCluster.initial(now())).withAlarm(a.raised(), a.reason(), now());
        commit(fenced().when(cur.map(v -> cluster.unchanged(HaCluster.ID, v.revision())).orElse(cluster.absent(HaCluster.ID)))
                .onSuccess(cluster.put(next)), "alarm");
        if (a.raised()) {
            log.error("event=ha_alarm_raised reason=\"{}\"", a.reason());
        } else {
            log.warn("event=ha_alarm_cleared reason=\"{}\"", a.reason());
        }
    }

    /** Recovery records of servers that are gone, deleted, or restarted elsewhere. */
    void dropStaleRecoveries() {
        for (var r : res.haRecoveries().list()) {
            var s = res.servers().get(r.value().serverId());
            if (s.isEmpty() || s.get().value().spec().deleted() || !r.value().fromHost().equals(s.get().value().status().host())) {
                commit(fenced().when(recoveries.unchanged(r.value().serverId(), r.revision())).onSuccess(recoveries.deleteOp(r.value().serverId())),
                        "drop recovery " + r.value().serverId());
            }
        }
    }

    private Optional<Versioned<InstanceAction>> action(String serverId, String requestId) {
        return res.instanceActions().byIndex(Resources.BY_SERVER, serverId).stream()
                .filter(a -> a.value().requestId().equals(requestId)).max(Comparator.comparing(a -> a.value().startTime()));
    }

    HaSettings settings() {
        return settings;
    }
}
