package io.halcyon.backup.repo;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetentionTest {
    /** Two backups a day, at 01:00 and 13:00, from 2026-10-01 to 2026-11-25. */
    static List<Retention.Item> twiceADay() {
        var items = new ArrayList<Retention.Item>();
        Instant t = Instant.parse("2026-10-01T01:00:00Z");
        while (t.isBefore(Instant.parse("2026-11-26T00:00:00Z"))) {
            items.add(new Retention.Item(t.toString(), t));
            t = t.plusSeconds(12 * 3600);
        }
        return items;
    }

    @Test
    void keepLastKeepsTheNewest() {
        var kept = new Retention(3, 0, 0, 0).keep(twiceADay());
        assertThat(kept).containsOnlyKeys("2026-11-25T13:00:00Z", "2026-11-25T01:00:00Z", "2026-11-24T13:00:00Z");
        assertThat(kept.values()).containsOnly("keep-last");
    }

    @Test
    void keepDailyKeepsTheNewestOfEachRecentDay() {
        var kept = new Retention(0, 3, 0, 0).keep(twiceADay());
        assertThat(kept).containsOnlyKeys("2026-11-25T13:00:00Z", "2026-11-24T13:00:00Z", "2026-11-23T13:00:00Z");
    }

    @Test
    void weeklyAndMonthlyUseIsoWeeksAndCalendarMonthsInUtc() {
        var kept = new Retention(0, 0, 2, 2).keep(twiceADay());
        // 2026-11-25 is a Wednesday of ISO week 48; week 47 ends on Sunday 2026-11-22
        assertThat(kept).containsEntry("2026-11-25T13:00:00Z", "keep-weekly")
                .containsEntry("2026-11-22T13:00:00Z", "keep-weekly")
                .containsEntry("2026-10-31T13:00:00Z", "keep-monthly")
                .hasSize(3);
    }

    @Test
    void rulesCombineAndEachBackupIsKeptOnce() {
        var kept = new Retention(2, 7, 4, 6).keep(twiceADay());
        assertThat(kept).hasSize(2 + 6 + 2 + 1);
        assertThat(kept.get("2026-11-25T13:00:00Z")).isEqualTo("keep-last");
        assertThat(kept.get("2026-11-19T13:00:00Z")).isEqualTo("keep-daily");
    }

    @Test
    void aPolicyThatKeepsNothingIsRefused() {
        assertThatThrownBy(() -> new Retention(0, 0, 0, 0)).hasMessageContaining("at least one");
        assertThatThrownBy(() -> new Retention(-1, 1, 0, 0)).hasMessageContaining("negative");
        assertThat(new Retention(5, 0, 0, 0).keep(List.of())).isEmpty();
    }
}
