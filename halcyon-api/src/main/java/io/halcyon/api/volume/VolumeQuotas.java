package io.halcyon.api.volume;

import io.halcyon.model.volume.Snapshot;
import io.halcyon.model.volume.Backup;
import io.halcyon.model.volume.Volume;
import io.halcyon.model.volume.VolumeQuota;
import io.halcyon.model.volume.VolumeQuotaRecord;
import io.halcyon.runtime.Resources;
import io.halcyon.runtime.Versioned;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static java.util.Objects.requireNonNull;

/**
 * A project's block-storage quota and usage. As in Cinder, gigabytes count volumes and snapshots;
 * usage is kept per project by informer handlers.
 */
public final class VolumeQuotas {
    /** What a project holds: volumes and snapshots (with their gigabytes), and backups (with theirs). */
    public record Usage(int volumes, int gigabytes, int snapshots, int backups, int backupGigabytes) {
        Usage(int volumes, int gigabytes, int snapshots) {
            this(volumes, gigabytes, snapshots, 0, 0);
        }

        Usage plus(Usage o) {
            return new Usage(volumes + o.volumes, gigabytes + o.gigabytes, snapshots + o.snapshots, backups + o.backups,
                    backupGigabytes + o.backupGigabytes);
        }
    }

    private final Resources res;
    private final VolumeQuota defaults;
    private final Map<String, Usage> usage = new ConcurrentHashMap<>();

    public VolumeQuotas(Resources res, VolumeQuota defaults) {
        this.res = requireNonNull(res, "res is null");
        this.defaults = requireNonNull(defaults, "defaults is null");
        res.volumes().addHandler((id, old, now) -> {
            if (old != null) {
                add(old.value().projectId(), new Usage(-1, -old.value().sizeGb(), 0));
            }
            if (now != null) {
                add(now.value().projectId(), new Usage(1, now.value().sizeGb(), 0));
            }
        });
        res.snapshots().addHandler((id, old, now) -> {
            if (old != null) {
                add(old.value().projectId(), new Usage(0, -old.value().sizeGb(), -1));
            }
            if (now != null) {
                add(now.value().projectId(), new Usage(0, now.value().sizeGb(), 1));
            }
        });
        res.backups().addHandler((id, old, now) -> {
            if (old != null) {
                add(old.value().projectId(), new Usage(0, 0, 0, -1, -old.value().sizeGb()));
            }
            if (now != null) {
                add(now.value().projectId(), new Usage(0, 0, 0, 1, now.value().sizeGb()));
            }
        });
        for (Versioned<Backup> b : res.backups().list()) {
            add(b.value().projectId(), new Usage(0, 0, 0, 1, b.value().sizeGb()));
        }
        for (Versioned<Volume> v : res.volumes().list()) {
            add(v.value().projectId(), new Usage(1, v.value().sizeGb(), 0));
        }
        for (Versioned<Snapshot> s : res.snapshots().list()) {
            add(s.value().projectId(), new Usage(0, s.value().sizeGb(), 1));
        }
    }

    private void add(String project, Usage delta) {
        usage.merge(project, delta, Usage::plus);
    }

    public VolumeQuota defaults() {
        return defaults;
    }

    public VolumeQuota of(String projectId) {
        return res.volumeQuotas().get(projectId).map(Versioned::value).map(VolumeQuotaRecord::quota).orElse(defaults);
    }

    public Usage usage(String projectId) {
        return usage.getOrDefault(projectId, new Usage(0, 0, 0, 0, 0));
    }
}
