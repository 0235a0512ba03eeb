package io.halcyon.scheduler;

import io.halcyon.model.compute.InstanceAction;
import io.halcyon.model.compute.Server;
import io.halcyon.model.compute.ServerLifecycle;
import io.halcyon.model.compute.VmState;
import io.halcyon.model.host.Claim;
import io.halcyon.model.host.Host;
import io.halcyon.model.host.HostAllocation;
import io.halcyon.runtime.ConflictException;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Leadership;
import io.halcyon.runtime.Reconciler;
import io.halcyon.runtime.Repository;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Result;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;

import static java.util.Objects.requireNonNull;

/**
 * Places servers that need a host. The claim is one transaction: the server's placement and the
 * host's allocation, each compared on the revision the decision was made from, plus the leader's
 * fence. Two concurrent decisions for the same last slot cannot both commit; the loser is retried
 * from fresh state. No host: the server goes to ERROR with Nova's "No valid host" fault.
 */
public final class SchedulingReconciler implements Reconciler {
    private static final Logger log = LoggerFactory.getLogger(SchedulingReconciler.class);

    private final Resources res;
    private final Scheduler scheduler;
    private final Leadership leadership;
    private final RandomGenerator random;
    private final Repository<Server> servers;
    private final Repository<HostAllocation> allocations;
    private final Repository<InstanceAction> actions;
    private final Repository<io.halcyon.model.compute.ServerGroup> groups;
    private final HostIndex hosts;

    public SchedulingReconciler(Resources res, Scheduler scheduler, Leadership leadership, RandomGenerator random) {
        this.res = requireNonNull(res, "res is null");
        this.scheduler = requireNonNull(scheduler, "scheduler is null");
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.random = requireNonNull(random, "random is null");
        this.servers = res.repo(Kinds.SERVERS);
        this.allocations = res.repo(Kinds.ALLOCATIONS);
        this.actions = res.repo(Kinds.INSTANCE_ACTIONS);
        this.groups = res.repo(Kinds.SERVER_GROUPS);
        this.hosts = new HostIndex(res);
    }

    public static boolean needsPlacement(Server s) {
        return s.status().vmState() == VmState.BUILDING && s.status().host() == null && !s.spec().deleted();
    }

    /** One consistent view of the hosts and their allocations; the claim compares against exactly this view. */
    record Snapshot(List<HostState> states, java.util.Map<String, Versioned<HostAllocation>> allocations) {
    }

    public List<HostState> hostStates() {
        return snapshot().states();
    }

    Snapshot snapshot() {
        var states = new ArrayList<HostState>();
        var allocs = new java.util.HashMap<String, Versioned<HostAllocation>>();
        for (HostIndex.Entry e : hosts.entries()) {
            states.add(e.state());
            if (e.allocation() != null) {
                allocs.put(e.state().name(), e.allocation());
            }
        }
        return new Snapshot(states, allocs);
    }

    @Override
    public Result reconcile(String serverId) {
        // a lost claim race is settled here, from fresh state, rather than after a queue backoff
        for (int attempt = 1; ; attempt++) {
            try {
                return reconcileOnce(serverId);
            } catch (ConflictException e) {
                if (attempt == 5) {
                    throw e;
                }
                res.sync();
            }
        }
    }

    private Result reconcileOnce(String serverId) {
        var v = res.servers().get(serverId);
        if (v.isEmpty() || !needsPlacement(v.get().value())) {
            return Result.done();
        }
        Server s = v.get().value();
        // the handler that queued this server may run before the rest of its creating transaction
        // (its server group) is in the cache
        res.awaitRevision(v.get().revision());
        var flavor = s.spec().flavor();
        // a server booted from a volume keeps its root disk on the volume's storage, not on the host
        int disk = s.spec().rootVolume() != null ? flavor.totalDiskGb() - flavor.diskGb() : flavor.totalDiskGb();
        var group = res.groupOf(s.id());
        var avoid = new java.util.HashSet<String>();
        String require = null;
        if (group.isPresent()) {
            for (String m : group.get().value().members()) {
                String h = m.equals(s.id()) ? null : res.servers().get(m).filter(v2 -> !v2.value().spec().deleted())
                        .map(v2 -> v2.value().status().host()).orElse(null);
                if (h != null) {
                    avoid.add(h);
                    require = require == null ? h : require;
                }
            }
            if (io.halcyon.model.compute.ServerGroup.ANTI_AFFINITY.equals(group.get().value().policy())) {
                require = null;
            } else {
                avoid.clear();
            }
        }
        var demand = new Demand(s.id(), flavor.vcpus(), flavor.ramMb(), disk, avoid, require);
        Snapshot snapshot = snapshot();
        List<HostState> states = snapshot.states();
        Scheduler.Decision d = scheduler.select(states, demand, random);
        Instant now = res.clock().now();
        if (d.host().isEmpty()) {
            String details = states.isEmpty() ? "No compute hosts are registered."
                    : d.rejectedBy().entrySet().stream().map(e -> e.getKey() + " rejected " + e.getValue())
                            .collect(Collectors.joining(", ", "Of " + states.size() + " host(s): ", "."));
            Server next = ServerLifecycle.noValidHost(s, details, now);
            var txn = Txn.builder().when(leadership.fence(), servers.unchanged(s.id(), v.get().revision())).onSuccess(servers.put(next));
            latestCreate(s.id()).ifPresent(a -> txn.when(actions.unchanged(Kinds.INSTANCE_ACTIONS.idOf().apply(a.value()), a.revision()))
                    .onSuccess(actions.put(a.value().withEvent(new InstanceAction.Event("conductor_schedule_and_build_instances",
                            a.value().startTime(), now, "Error", null, Server.class.getSimpleName() + " " + s.id() + ": "
                            + io.halcyon.model.compute.Fault.NO_VALID_HOST + " " + details), now))));
            commit(txn.build(), s.id());
            log.info("event=no_valid_host server_id={} details=\"{}\"", s.id(), details);
            return Result.done();
        }
        String host = d.host().get();
        var alloc = java.util.Optional.ofNullable(snapshot.allocations().get(host));
        HostAllocation current = alloc.map(Versioned::value).orElse(HostAllocation.empty(host));
        Server next = ServerLifecycle.placed(s, host, now);
        var txn = Txn.builder().when(leadership.fence(), servers.unchanged(s.id(), v.get().revision()))
                .when(alloc.map(a -> allocations.unchanged(host, a.revision())).orElse(allocations.absent(host)))
                .onSuccess(servers.put(next), allocations.put(current.with(s.id(), new Claim(demand.vcpus(), demand.ramMb(), demand.diskGb()))));
        // members of one group are placed one at a time: each placement rewrites the group, so two
        // concurrent ones cannot both miss each other's host
        group.ifPresent(g -> txn.when(groups.unchanged(g.value().id(), g.revision())).onSuccess(groups.put(g.value())));
        commit(txn.build(), s.id());
        log.info("event=server_placed server_id={} host={} epoch={}", s.id(), host, next.status().epoch());
        return Result.done();
    }

    private void commit(Txn txn, String serverId) {
        TxnResult r = res.store().txn(txn);
        if (!r.succeeded()) {
            throw new ConflictException("placement of " + serverId + " raced with another change");
        }
        res.awaitRevision(r.revision());
    }

    private java.util.Optional<Versioned<InstanceAction>> latestCreate(String serverId) {
        return res.instanceActions().byIndex(Resources.BY_SERVER, serverId).stream()
                .filter(a -> a.value().action().equals(InstanceAction.CREATE))
                .max(Comparator.comparing(a -> a.value().startTime()));
    }
}
