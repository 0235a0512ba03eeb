package io.halcyon.backup;

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
        requireNonNull(image, "image is null");
        if (repo.hasIndex(backupId)) {
            throw new RepositoryException("backup " + backupId + " exists already");
        }
        BackupIndex parent = parentId == null ? null : repo.readIndex(parentId);
        QemuImage.Info info = qemuImg.info(image);
        String useBitmap = null;
        String note = null;
        if (parent != null) {
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
        String mine = bitmapOf(backupId);
        for (QemuImage.Bitmap b : info.bitmaps()) {
            // bitmaps of backups before the parent, or of backups that never finished, only cost writes
            if (b.name().startsWith(BITMAP_PREFIX) && !b.name().equals(useBitmap)) {
                qemuImg.removeBitmap(image, b.name());
            }
        }
        qemuImg.addBitmap(image, mine);
        BackupIndex index;
        try {
            QemuNbd server = QemuNbd.serve(qemuNbd, image, "qcow2", true, useBitmap, threads + 1);
            try (var src = new NbdSource(server.connect(NbdSource.contexts(useBitmap)), useBitmap, server, () -> server.connect(List.of()))) {
                index = new BackupRunner(repo, threads).run(src, new BackupRunner.Request(backupId, source, labels, parent, note, progress));
            } catch (IOException | RuntimeException e) {
                server.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            try {
                qemuImg.removeBitmap(image, mine);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        if (useBitmap != null) {
            qemuImg.removeBitmap(image, useBitmap);
        }
        return index;
    }

    /**
     * Restores a backup to {@code target}: into a new image beside it, then renamed over it, so a
     * restore that fails leaves {@code target} as it was.
     */
    public RestoreRunner.Result restore(String backupId, Path target) throws IOException {
        return restore(backupId, target, 0);
    }

    /** @param size the new image's size, if larger than the backup's (a restore onto a larger volume) */
    public RestoreRunner.Result restore(String backupId, Path target, long size) throws IOException {
        BackupIndex index = repo.readIndex(backupId);
        if (size > 0 && size < index.size()) {
            throw new RepositoryException("backup " + backupId + " holds " + index.size() + " bytes, more than the " + size + " of the target");
        }
        Path tmp = target.resolveSibling("." + target.getFileName() + ".restore-" + backupId);
        Files.deleteIfExists(tmp);
        qemuImg.create(tmp, Math.max(size, index.size()));
        try {
            RestoreRunner.Result r;
            try (QemuNbd server = QemuNbd.serve(qemuNbd, tmp, "qcow2", false, null, threads + 1)) {
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
