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
        syncDirectory(target.getParent());
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
