package io.halcyon.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Percentiles over a sample (nearest rank). */
final class Stats {
    private final List<Double> values = new ArrayList<>();

    synchronized void add(double v) {
        values.add(v);
    }

    synchronized int count() {
        return values.size();
    }

    synchronized double percentile(double p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        var sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }

    double median() {
        return percentile(50);
    }

    String summary(String unit) {
        return String.format("n=%d median=%.1f%s p90=%.1f%s p99=%.1f%s max=%.1f%s", count(), median(), unit, percentile(90), unit,
                percentile(99), unit, percentile(100), unit);
    }
}
