package io.halcyon.backup.repo;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static java.util.Objects.requireNonNull;

/**
 * Applies a {@link Retention} per source. Deleting an index is one unlink, so a prune killed
 * half way has removed some backups whole and left the others whole; chunks go later, with the
 * garbage collection.
 */
public final class Pruner {
    private static final Logger log = LoggerFactory.getLogger(Pruner.class);

    private final Repository repo;

    public record Result(Map<String, String> kept, List<String> removed) {
    }

    public Pruner(Repository repo) {
        this.repo = requireNonNull(repo, "repo is null");
    }

    /** @param source only this source's backups; null for every source, each on its own */
    public Result prune(Retention retention, String source, boolean dryRun) {
        var bySource = new TreeMap<String, List<Retention.Item>>();
        for (BackupIndex i : repo.indexes()) {
            if (source == null || source.equals(i.source())) {
                bySource.computeIfAbsent(i.source(), k -> new ArrayList<>()).add(new Retention.Item(i.id(), i.createdAt()));
            }
        }
        var kept = new LinkedHashMap<String, String>();
        var removed = new ArrayList<String>();
        for (var e : bySource.entrySet()) {
            Map<String, String> keep = retention.keep(e.getValue());
            kept.putAll(keep);
            for (Retention.Item it : e.getValue()) {
                if (!keep.containsKey(it.id())) {
                    removed.add(it.id());
                }
            }
        }
        if (!dryRun) {
            for (String id : removed) {
                try {
                    repo.deleteIndex(id);
                    log.info("event=backup_pruned repo={} backup={}", repo.dir(), id);
                } catch (NoSuchBackupException e) {
                    // removed by someone else meanwhile
                }
            }
        }
        return new Result(kept, removed);
    }
}
