package io.halcyon.backup;

import io.halcyon.backup.nbd.Extent;
import io.halcyon.backup.nbd.NbdClient;
import io.halcyon.backup.nbd.QemuNbd;
import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.Repository;
import io.halcyon.backup.repo.RepositoryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

import static java.util.Objects.requireNonNull;

/**
 * Backup and restore of qcow2 volumes that no guest has open, through qemu-nbd.
 *
 * <p>Changed-block tracking: after each backup B the volume carries a persistent dirty bitmap
 * named {@code halcyon-B}, added before B reads anything, so it records every write after B's
 * point in time (nobody can write while qemu-nbd holds the image). An incremental backup relative
 * to B reads only the chunks that bitmap marks. When the bitmap is missing, or flagged in use by a
 * QEMU that exited uncleanly (its content is then unknown), the backup reads every allocated chunk
 * and compares hashes instead, and its index says why.
 */
public final class VolumeBackups {
    private static final Logger log = LoggerFactory.getLogger(VolumeBackups.class);
    public static final String BITMAP_PREFIX = "halcyon-";

    private final Repository repo;
    private final QemuImage qemuImg;
    private final String qemuNbd;
    private final int threads;

    public VolumeBackups(Repository repo, QemuImage qemuImg, String qemuNbd, int threads) {
        this.repo = requireNonNull(repo, "repo is null");
        this.qemuImg = requireNonNull(qemuImg, "qemuImg is null");
        this.qemuNbd = requireNonNull(qemuNbd, "qemuNbd is null");
        this.threads = threads;
    }

    public static String bitmapOf(String backupId) {
        return BITMAP_PREFIX + backupId;
    }

    /**
     * @param parentId the backup to take an incremental relative to; null for a full backup
     */
    public BackupIndex backup(Path image, String backupId, String source, Map<String, String> labels, String parentId,
                              LongConsumer progress) throws IOException {
        return backupAll(List.of(new Member(image, backupId, source, labels, parentId)), progress).get(0);
    }

    /**
     * A volume to back up as part of {@link #backupAll}.
     *
     * @param parentId the backup to take an incremental relative to; null for a full backup
     */
    public record Member(Path image, String backupId, String source, Map<String, String> labels, String parentId) {
        public Member {
            requireNonNull(image, "image is null");
            requireNonNull(backupId, "backupId is null");
        }
    }

    /** What was decided for a member before reading: the bitmap to read changes from, and why none. */
    private record Plan(Member m, BackupIndex parent, String useBitmap, String note) {
    }

    /**
     * Backs up several volumes at one point in time: qemu-nbd holds every one of them (and so
     * QEMU's image lock on each) before any is read, so no guest writes to any of them between
     * the first read and the last. Every backup is written or none is.
     */
    public List<BackupIndex> backupAll(List<Member> members, LongConsumer progress) throws IOException {
        var plans = new ArrayList<Plan>();
        for (Member m : members) {
            if (repo.hasIndex(m.backupId())) {
                throw new RepositoryException("backup " + m.backupId() + " exists already");
            }
            plans.add(plan(m));
        }
        var added = new ArrayList<Member>();
        var servers = new ArrayList<QemuNbd>();
        var written = new ArrayList<BackupIndex>();
        try {
            for (Plan p : plans) {
                qemuImg.addBitmap(p.m().image(), bitmapOf(p.m().backupId()));
                added.add(p.m());
            }
            for (Plan p : plans) {
                servers.add(QemuNbd.serve(qemuNbd, p.m().image(), "qcow2", true, p.useBitmap(), BackupRunner.connections(threads)));
            }
            for (int i = 0; i < plans.size(); i++) {
                Plan p = plans.get(i);
                QemuNbd server = servers.get(i);
                try (var src = new NbdSource(server.connect(NbdSource.contexts(p.useBitmap())), p.useBitmap(), null,
                        () -> server.connect(List.of()))) {
                    written.add(new BackupRunner(repo, threads).run(src, new BackupRunner.Request(p.m().backupId(), p.m().source(),
                            p.m().labels(), p.parent(), p.note(), progress)));
                }
            }
        } catch (IOException | RuntimeException e) {
            closeAll(servers, e);
            for (BackupIndex w : written) {
                try {
                    repo.deleteIndex(w.id());
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            for (Member m : added) {
                try {
                    qemuImg.removeBitmap(m.image(), bitmapOf(m.backupId()));
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        closeAll(servers, null);
        for (Plan p : plans) {
            if (p.useBitmap() != null) {
                qemuImg.removeBitmap(p.m().image(), p.useBitmap());
            }
        }
        return written;
    }

    /**
     * Backs up a point-in-time image that qemu-nbd opens by name (an RBD snapshot,
     * {@code rbd:pool/image@snap:conf=...}). {@code changed}, when not null, lists every byte range
     * written since {@code parentId}'s point in time (from {@code rbd diff --from-snap}): only the
     * chunks it touches are read, the others are the parent's. Without it, an incremental reads
     * every allocated chunk and compares hashes, and {@code note} says why.
     */
    public BackupIndex backupSnapshot(String name, String backupId, String source, Map<String, String> labels, String parentId,
                                      List<Extent> changed, String note, LongConsumer progress) throws IOException {
        if (repo.hasIndex(backupId)) {
            throw new RepositoryException("backup " + backupId + " exists already");
        }
        BackupIndex parent = parentId == null ? null : repo.readIndex(parentId);
        try (QemuNbd server = QemuNbd.serveName(qemuNbd, name, "raw", true, BackupRunner.connections(threads));
             var nbd = new NbdSource(server.connect(NbdSource.contexts(null)), null, null, () -> server.connect(List.of()));
             var src = parent == null || changed == null ? nbd : new ChangedSource(nbd, changed)) {
            return new BackupRunner(repo, threads).run(src, new BackupRunner.Request(backupId, source, labels, parent,
                    parent == null ? null : note, progress));
        }
    }

    /** A source whose changes since the parent are a list of byte ranges known beforehand. */
    private static final class ChangedSource implements BlockSource {
        private final BlockSource inner;
        private final List<Extent> changed;

        ChangedSource(BlockSource inner, List<Extent> changed) {
            this.inner = inner;
            this.changed = changed.stream().sorted(java.util.Comparator.comparingLong(Extent::offset)).toList();
        }

        @Override
        public long size() {
            return inner.size();
        }

        @Override
        public List<Extent> allocation(long offset, long length) throws IOException {
            return inner.allocation(offset, length);
        }

        @Override
        public boolean hasBitmap() {
            return true;
        }

        @Override
        public String changesMode() {
            return BackupIndex.RBD_DIFF;
        }

        /** Every range from {@code offset} to the end: the changed ones flagged dirty, the gaps between them clean. */
        @Override
        public List<Extent> dirty(long offset, long length) {
            long end = offset + length;
            var out = new ArrayList<Extent>();
            long at = offset;
            for (Extent e : changed) {
                if (e.end() <= at || e.offset() >= end) {
                    continue;
                }
                long from = Math.max(at, e.offset());
                if (from > at) {
                    out.add(new Extent(at, from - at, 0));
                }
                long to = Math.min(end, e.end());
                out.add(new Extent(from, to - from, Extent.DIRTY));
                at = to;
            }
            if (at < end) {
                out.add(new Extent(at, end - at, 0));
            }
            return out;
        }

        @Override
        public long read(long offset, byte[] buf, int off, int len) throws IOException {
            return inner.read(offset, buf, off, len);
        }

        @Override
        public Reader reader() throws IOException {
            return inner.reader();
        }

        @Override
        public void close() {
            // the caller closes the source this one wraps
        }
    }

    /**
     * Restores a backup into a new, empty image that qemu-nbd opens by name and writes (an RBD
     * image made for it); renaming it into place is the caller's.
     */
    public RestoreRunner.Result restoreInto(String backupId, String name) throws IOException {
        BackupIndex index = repo.readIndex(backupId);
        RestoreRunner.Result r;
        try (QemuNbd server = QemuNbd.serveName(qemuNbd, name, "raw", false, RestoreRunner.connections(threads))) {
            try (NbdClient nbd = server.connect(List.of())) {
                r = new RestoreRunner(repo, threads).run(index, BlockSink.of(nbd, server));
            }
            server.awaitExit();
        }
        log.info("event=volume_restored backup={} target={}", backupId, name.replaceAll(":.*", ""));
        return r;
    }

    private Plan plan(Member m) throws IOException {
        BackupIndex parent = m.parentId() == null ? null : repo.readIndex(m.parentId());
        QemuImage.Info info = qemuImg.info(m.image());
        String useBitmap = null;
        String note = null;
        if (parent != null) {
            String parentId = m.parentId();
            QemuImage.Bitmap b = info.bitmap(bitmapOf(parentId));
            if (b == null) {
                note = "no dirty bitmap since backup " + parentId + " on the volume: compared chunk hashes instead";
            } else if (b.inUse()) {
                note = "the dirty bitmap since backup " + parentId + " is inconsistent (QEMU exited uncleanly): compared chunk hashes instead";
            } else if (!b.enabled()) {
                note = "the dirty bitmap since backup " + parentId + " was disabled: compared chunk hashes instead";
            } else {
                useBitmap = b.name();
            }
        }
        for (QemuImage.Bitmap b : info.bitmaps()) {
            // bitmaps of backups before the parent, or of backups that never finished, only cost writes
            if (b.name().startsWith(BITMAP_PREFIX) && !b.name().equals(useBitmap)) {
                qemuImg.removeBitmap(m.image(), b.name());
            }
        }
        return new Plan(m, parent, useBitmap, note);
    }

    private static void closeAll(List<QemuNbd> servers, Exception failure) throws IOException {
        IOException first = null;
        for (QemuNbd s : servers) {
            try {
                s.close();
            } catch (IOException e) {
                if (failure != null) {
                    failure.addSuppressed(e);
                } else if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * Restores a backup to {@code target}: into a new image beside it, then renamed over it, so a
     * restore that fails leaves {@code target} as it was.
     */
    public RestoreRunner.Result restore(String backupId, Path target) throws IOException {
        return restore(backupId, target, 0);
    }

    /** @param size the new image's size, if larger than the backup's (a restore onto a larger volume) */
    public RestoreRunner.Result restore(String backupId, Path targetPath, long size) throws IOException {
        Path target = targetPath.toAbsolutePath();
        BackupIndex index = repo.readIndex(backupId);
        if (size > 0 && size < index.size()) {
            throw new RepositoryException("backup " + backupId + " holds " + index.size() + " bytes, more than the " + size + " of the target");
        }
        Path tmp = target.resolveSibling("." + target.getFileName() + ".restore-" + backupId);
        Files.deleteIfExists(tmp);
        qemuImg.create(tmp, Math.max(size, index.size()));
        try {
            RestoreRunner.Result r;
            try (QemuNbd server = QemuNbd.serveForWriting(qemuNbd, tmp, "qcow2", RestoreRunner.connections(threads))) {
                try (NbdClient nbd = server.connect(List.of())) {
                    r = new RestoreRunner(repo, threads).run(index, BlockSink.of(nbd, server));
                }
                server.awaitExit();
            }
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (var ch = java.nio.channels.FileChannel.open(target.getParent(), java.nio.file.StandardOpenOption.READ)) {
                ch.force(true);
            }
            log.info("event=volume_restored backup={} target={}", backupId, target);
            return r;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
