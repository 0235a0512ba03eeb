package io.halcyon.backup.repo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/** Write, fsync, rename, fsync the directory: after a crash a file is either whole or absent. */
final class AtomicFiles {
    static final String TMP_MARK = ".tmp-";

    private AtomicFiles() {
    }

    static void write(Path target, ByteBuffer content) throws IOException {
        writeUnsynced(target, content);
        syncDirectory(target.getParent());
    }

    /**
     * As {@link #write}, without the directory's fsync: the file's content is durable before its
     * name appears, but the name itself may vanish in a crash until the caller syncs the directory.
     */
    static void writeUnsynced(Path target, ByteBuffer content) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + TMP_MARK + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            while (content.hasRemaining()) {
                ch.write(content);
            }
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    static boolean isTemporary(Path p) {
        return p.getFileName().toString().contains(TMP_MARK);
    }
}
