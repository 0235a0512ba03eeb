package io.halcyon.controller;

import io.halcyon.model.volume.BackupPolicy;
import io.halcyon.model.volume.BackupStatus;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class PolicyPlanTest {
    static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");

    static BackupPolicy policy(Instant lastRun, int fullEvery, int keepLast) {
        return new BackupPolicy("p", "proj", "v", Duration.ofHours(1), fullEvery, keepLast, 0, 0, 0, true, lastRun, NOW, NOW);
    }

    /** A chain of available backups an hour apart, oldest first: a full one, then incrementals. */
    static List<PolicyPlan.Item> chain(int n) {
        var out = new ArrayList<PolicyPlan.Item>();
        for (int i = 0; i < n; i++) {
            out.add(new PolicyPlan.Item("b" + i, NOW.minusSeconds(3600L * (n - i)), i == 0 ? null : "b" + (i - 1), BackupStatus.AVAILABLE,
                    true));
        }
        return out;
    }

    @Test
    void aDuePolicyTakesAFullBackupFirstThenIncrementalsUntilTheNextFull() {
        assertThat(PolicyPlan.decide(policy(null, 3, 5), NOW, true, List.of())).isEqualTo(new PolicyPlan.Decision(true, false, List.of()));
        assertThat(PolicyPlan.decide(policy(null, 3, 5), NOW, true, chain(1)).incremental()).isTrue();
        assertThat(PolicyPlan.decide(policy(null, 3, 5), NOW, true, chain(2)).incremental()).isTrue();
        assertThat(PolicyPlan.decide(policy(null, 3, 5), NOW, true, chain(3)).incremental()).isFalse();
        assertThat(PolicyPlan.decide(policy(null, 1, 5), NOW, true, chain(2)).incremental()).isFalse();
    }

    @Test
    void nothingIsTakenBeforeItIsDueWhileTheVolumeIsBusyOrWhileABackupRuns() {
        assertThat(PolicyPlan.decide(policy(NOW.minusSeconds(600), 3, 5), NOW, true, chain(1)).backup()).isFalse();
        assertThat(PolicyPlan.decide(policy(NOW.minusSeconds(3600), 3, 5), NOW, true, chain(1)).backup()).isTrue();
        assertThat(PolicyPlan.decide(policy(null, 3, 5), NOW, false, chain(1)).backup()).isFalse();
        var running = new ArrayList<>(chain(2));
        running.add(new PolicyPlan.Item("new", NOW, "b1", BackupStatus.CREATING, true));
        assertThat(PolicyPlan.decide(policy(null, 3, 1), NOW, true, running)).isEqualTo(new PolicyPlan.Decision(false, true, List.of()));
        var disabled = new BackupPolicy("p", "proj", "v", Duration.ofHours(1), 3, 1, 0, 0, 0, false, null, NOW, NOW);
        assertThat(PolicyPlan.decide(disabled, NOW, true, chain(1)).backup()).isFalse();
    }

    @Test
    void theRetentionPrunesAvailableBackupsItDoesNotKeep() {
        var d = PolicyPlan.decide(policy(NOW, 3, 2), NOW, true, chain(5));
        assertThat(d.backup()).isFalse();
        assertThat(d.prune()).containsExactlyInAnyOrder("b0", "b1", "b2");
        var failed = new ArrayList<>(chain(2));
        failed.add(new PolicyPlan.Item("bad", NOW.minusSeconds(10), null, BackupStatus.ERROR, true));
        assertThat(PolicyPlan.decide(policy(NOW, 3, 1), NOW, true, failed).prune()).containsExactly("b0");
    }

    @Test
    void theRetentionNeverCountsNorPrunesBackupsThePolicyDidNotTakeOrThatAreProtected() {
        // a manual backup taken before the policy, one by another policy, one protected; then the policy's own three
        var list = new ArrayList<PolicyPlan.Item>();
        list.add(new PolicyPlan.Item("manual", NOW.minusSeconds(36_000), null, BackupStatus.AVAILABLE, false));
        list.add(new PolicyPlan.Item("other-policy", NOW.minusSeconds(30_000), "manual", BackupStatus.AVAILABLE, false));
        list.add(new PolicyPlan.Item("protected", NOW.minusSeconds(20_000), "other-policy", BackupStatus.AVAILABLE, false));
        for (int i = 0; i < 3; i++) {
            list.add(new PolicyPlan.Item("own" + i, NOW.minusSeconds(3600L * (3 - i)), i == 0 ? "protected" : "own" + (i - 1),
                    BackupStatus.AVAILABLE, true));
        }
        assertThat(PolicyPlan.decide(policy(NOW, 3, 1), NOW, true, list).prune()).containsExactlyInAnyOrder("own0", "own1");
        // with only backups it did not take, a policy prunes nothing, whatever its retention
        assertThat(PolicyPlan.decide(policy(NOW, 3, 1), NOW, true, list.subList(0, 3)).prune()).isEmpty();
    }
}
