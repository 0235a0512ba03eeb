package io.halcyon.backup.repo;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Which backups a retention policy keeps, as a pure function. Each rule keeps, independently, the
 * newest backup of each of its N most recent periods that hold one (days, ISO weeks, months, in
 * UTC); {@code keepLast} keeps the N newest. A backup is kept if any rule keeps it. Policies that
 * keep nothing are refused: pruning with no rule would delete every backup.
 */
public record Retention(int keepLast, int keepDaily, int keepWeekly, int keepMonthly) {
    public Retention {
        if (keepLast < 0 || keepDaily < 0 || keepWeekly < 0 || keepMonthly < 0) {
            throw new RepositoryException("retention counts cannot be negative");
        }
        if (keepLast + keepDaily + keepWeekly + keepMonthly == 0) {
            throw new RepositoryException("a retention policy needs at least one of keep-last, keep-daily, keep-weekly, keep-monthly");
        }
    }

    public record Item(String id, Instant createdAt) {
    }

    /** @return id → the reason it is kept, or absent when it goes; items of one source */
    public Map<String, String> keep(List<Item> items) {
        var newestFirst = new ArrayList<>(items);
        newestFirst.sort(Comparator.comparing(Item::createdAt).reversed().thenComparing(Item::id));
        var reasons = new LinkedHashMap<String, String>();
        for (int i = 0; i < Math.min(keepLast, newestFirst.size()); i++) {
            reasons.putIfAbsent(newestFirst.get(i).id(), "keep-last");
        }
        bucket(newestFirst, keepDaily, "keep-daily", t -> t.toLocalDate().toString(), reasons);
        bucket(newestFirst, keepWeekly, "keep-weekly",
                t -> t.get(IsoFields.WEEK_BASED_YEAR) + "-W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR), reasons);
        bucket(newestFirst, keepMonthly, "keep-monthly", t -> t.getYear() + "-" + t.getMonthValue(), reasons);
        return reasons;
    }

    private static void bucket(List<Item> newestFirst, int n, String rule, Function<ZonedDateTime, String> period,
                               Map<String, String> reasons) {
        Set<String> seen = new HashSet<>();
        for (Item it : newestFirst) {
            if (seen.size() >= n) {
                return;
            }
            if (seen.add(period.apply(it.createdAt().atZone(ZoneOffset.UTC)))) {
                reasons.putIfAbsent(it.id(), rule);
            }
        }
    }
}
