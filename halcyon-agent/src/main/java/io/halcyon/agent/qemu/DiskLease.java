package io.halcyon.agent.qemu;

import io.halcyon.model.agent.DiskSpec;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;

/**
 * The lease on a guest's file disks is the storage's own lock: QEMU holds a shared OFD lock on
 * byte 101 of every image it has open for writing (its "write" permission byte, locking=on) for
 * as long as it lives, and the kernel, or on NFSv4 the server's lease, arbitrates between hosts
 * (libvirt's virtlockd rests on the same locks). A host therefore may start a guest only when no
 * other process holds that byte: a QEMU of the same guest still alive on a host wrongly declared
 * dead (its agent stopped, its watchdog late) keeps the lease, and the new host waits until it is
 * gone instead of becoming a second writer. The probe takes an exclusive POSIX lock on the byte,
 * which conflicts with any OFD lock on it, and releases it at once; QEMU then takes its own and
 * refuses to start should another have come between.
 */
public final class DiskLease {
    /** QEMU's lock byte for the "write" permission (RAW_LOCK_PERM_BASE 100 + bit 1). */
    static final long WRITE_BYTE = 101;

    private DiskLease() {
    }

    /** Thrown when another process holds the lease of one of the guest's disks; the start is retried, never failed. */
    public static final class HeldException extends IOException {
        public HeldException(String message) {
            super(message);
        }
    }

    /** Checks every writable file disk that exists; RBD disks are fenced by Ceph's blocklist instead. */
    public static void check(DiskSpec root, Collection<DiskSpec> volumes) throws IOException {
        if (root != null) {
            check(root);
        }
        for (DiskSpec v : volumes) {
            check(v);
        }
    }

    static void check(DiskSpec d) throws IOException {
        if (d.rbd() || d.readOnly() || !"file".equals(d.driver())) {
            return;
        }
        check(Path.of(d.path()));
    }

    /** Whether another process holds the write lease of the image; a missing image has none. */
    public static void check(Path image) throws IOException {
        if (!Files.isRegularFile(image)) {
            return;
        }
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l;
            try {
                l = ch.tryLock(WRITE_BYTE, 1, false);
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l == null) {
                throw new HeldException("the disk " + image + " is open for writing by another QEMU (it holds the disk's lease); "
                        + "the guest starts here once that one is gone");
            }
            l.release();
        } catch (NoSuchFileException e) {
            // removed between the two calls: nobody holds it
        }
    }

    /** Whether QEMU refused to start because another process holds an image's lock. */
    public static boolean refusedForLock(String qemuOutput) {
        return qemuOutput != null && qemuOutput.contains("Failed to get \"write\" lock");
    }
}
