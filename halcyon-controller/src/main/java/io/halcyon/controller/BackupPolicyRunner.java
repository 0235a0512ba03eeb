package io.halcyon.controller;

import io.halcyon.api.volume.BackupService;
import io.halcyon.model.volume.Backup;
import io.halcyon.model.volume.BackupPolicy;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeStatus;
import io.halcyon.runtime.Kinds;
import io.halcyon.runtime.Leadership;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;
import io.halcyon.store.Txn;
import io.halcyon.store.TxnResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * The leader's pass over backup policies, every few seconds: for each volume a policy covers, it
 * takes the backup that is due and prunes what the retention no longer keeps ({@link PolicyPlan}
 * decides), then records the run, fenced by the leader's term. A backup or prune is a record like
 * any other, carried out by the backup reconciler.
 */
final class BackupPolicyRunner {
    private static final Logger log = LoggerFactory.getLogger(BackupPolicyRunner.class);

    private final Resources res;
    private final BackupService backups;
    private final Leadership leadership;
    private final io.halcyon.runtime.Repository<BackupPolicy> policies;

    BackupPolicyRunner(Resources res, BackupService backups, Leadership leadership) {
        this.res = requireNonNull(res, "res is null");
        this.backups = requireNonNull(backups, "backups is null");
        this.leadership = requireNonNull(leadership, "leadership is null");
        this.policies = res.repo(Kinds.BACKUP_POLICIES);
    }

    void pass() {
        if (!leadership.isLeader()) {
            return;
        }
        try {
            res.sync();
            for (Versioned<BackupPolicy> v : res.backupPolicies().list()) {
                run(v);
            }
        } catch (RuntimeException e) {
            log.warn("event=backup_policy_pass_failed error=\"{}\"", e.getMessage());
        }
    }

    private void run(Versioned<BackupPolicy> v) {
        BackupPolicy p = v.value();
        Instant now = res.clock().now();
        boolean due = p.due(now);
        for (Volume vol : volumes(p)) {
            var items = new ArrayList<PolicyPlan.Item>();
            for (Versioned<Backup> b : res.backups().byIndex(Resources.BY_VOLUME, vol.id())) {
                items.add(new PolicyPlan.Item(b.value().id(), b.value().createdAt(), b.value().parentId(), b.value().status(),
                        p.id().equals(b.value().policyId()) && !b.value().protectedBackup()));
            }
            boolean ready = vol.status() == VolumeStatus.AVAILABLE || vol.status() == VolumeStatus.IN_USE;
            PolicyPlan.Decision d = PolicyPlan.decide(p, now, ready, items);
            for (String id : d.prune()) {
                backups.prune(id, p.id());
            }
            if (d.backup()) {
                backups.createFor(vol.id(), p.id(), "policy-" + now.toString().replace(':', '-'), d.incremental());
            }
        }
        if (due) {
            TxnResult r = res.store().txn(Txn.builder().when(policies.unchanged(p.id(), v.revision()), leadership.fence())
                    .onSuccess(policies.put(p.ran(now))).build());
            if (r.succeeded()) {
                res.awaitRevision(r.revision());
                log.info("event=backup_policy_ran policy_id={} project_id={} volume_id={}", p.id(), p.projectId(), p.volumeId());
            }
        }
    }

    private List<Volume> volumes(BackupPolicy p) {
        if (p.volumeId() != null) {
            return res.volumes().get(p.volumeId()).map(Versioned::value).filter(x -> x.projectId().equals(p.projectId()))
                    .map(List::of).orElse(List.of());
        }
        return res.volumes().byIndex(Resources.BY_PROJECT, p.projectId()).stream().map(Versioned::value).toList();
    }
}
