package io.halcyon.controller;

import io.halcyon.backup.repo.Retention;
import io.halcyon.model.volume.BackupPolicy;
import io.halcyon.model.volume.BackupStatus;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * What a backup policy does to one volume on one pass, as a pure function: whether to take a
 * backup (due, the volume ready, nothing of it in progress), whether incremental (a full one every
 * {@code fullEvery}), and which available backups the retention no longer keeps. The retention
 * counts and prunes only the policy's own backups: never one a user took, one another policy took,
 * or a protected one.
 */
final class PolicyPlan {
    private PolicyPlan() {
    }

    /** @param prunable taken by this policy and not protected: the only kind the retention counts and prunes */
    record Item(String id, Instant createdAt, String parentId, BackupStatus status, boolean prunable) {
    }

    record Decision(boolean backup, boolean incremental, List<String> prune) {
    }

    static Decision decide(BackupPolicy p, Instant now, boolean volumeReady, List<Item> backups) {
        boolean busy = backups.stream().anyMatch(b -> b.status() == BackupStatus.CREATING || b.status() == BackupStatus.DELETING
                || b.status() == BackupStatus.RESTORING);
        var available = new ArrayList<Item>();
        backups.stream().filter(b -> b.status() == BackupStatus.AVAILABLE).forEach(available::add);
        available.sort(Comparator.comparing(Item::createdAt).reversed().thenComparing(Item::id));
        boolean take = p.due(now) && volumeReady && !busy;
        int sinceFull = 0;
        for (Item b : available) {
            if (b.parentId() == null) {
                break;
            }
            sinceFull++;
        }
        boolean incremental = !available.isEmpty() && sinceFull + 1 < p.fullEvery();
        var prune = new ArrayList<String>();
        var own = available.stream().filter(Item::prunable).toList();
        if (!busy && !own.isEmpty()) {
            Map<String, String> keep = new Retention(p.keepLast(), p.keepDaily(), p.keepWeekly(), p.keepMonthly())
                    .keep(own.stream().map(b -> new Retention.Item(b.id(), b.createdAt())).toList());
            own.stream().filter(b -> !keep.containsKey(b.id())).forEach(b -> prune.add(b.id()));
        }
        return new Decision(take, incremental, prune);
    }
}
