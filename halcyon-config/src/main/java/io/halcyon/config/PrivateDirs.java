package io.halcyon.config;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Directories only the service's user can enter (0700): data, run directories and the sockets in
 * them. A directory that exists must be a real directory owned by this user, and each directory
 * above it must belong to this user or to root: otherwise someone else could read what is put
 * there, or swap it (a run directory another user made first would let them own the sockets the
 * cloud writes through). Ours are tightened to 0700; missing ones are made 0700.
 */
public final class PrivateDirs {
    public static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");
    public static final Set<PosixFilePermission> OWNER_FILE = PosixFilePermissions.fromString("rw-------");
    private static final FileAttribute<Set<PosixFilePermission>> DIR = PosixFilePermissions.asFileAttribute(OWNER_ONLY);

    private PrivateDirs() {
    }

    /** Makes {@code dir} (and missing parents) 0700, or checks and tightens it; a {@link ConfigException} names what is wrong. */
    public static Path ensure(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        int uid = currentUid();
        Path cur = abs.getRoot();
        for (Path part : abs) {
            cur = cur.resolve(part);
            if (!Files.exists(cur, LinkOption.NOFOLLOW_LINKS)) {
                try {
                    Files.createDirectory(cur, DIR);
                } catch (FileAlreadyExistsException e) {
                    // made meanwhile: checked below like any other
                }
            }
        }
        PosixFileAttributes a = Files.readAttributes(abs, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (a.isSymbolicLink() || !a.isDirectory()) {
            throw new ConfigException(abs + " must be a directory, not a link or a file; remove it and start again");
        }
        int owner = uid(abs);
        if (owner != uid) {
            throw new ConfigException(abs + " belongs to user " + a.owner().getName() + " (uid " + owner
                    + "), not to this service (uid " + uid + "); someone else may have made it: remove it and start again");
        }
        // the directories above, as they really are (links followed): each this user's or root's
        Path above = abs.getParent() == null ? null : abs.getParent().toRealPath();
        for (Path p = above; p != null; p = p.getParent()) {
            int o = uid(p);
            if (o != uid && o != 0) {
                throw new ConfigException(abs + " lies under " + p + ", which belongs to user "
                        + Files.getOwner(p).getName() + " (uid " + o + "), who could swap it: choose a directory under ones owned by "
                        + "this service or root");
            }
        }
        if (!a.permissions().equals(OWNER_ONLY)) {
            Files.setPosixFilePermissions(abs, OWNER_ONLY);
        }
        return abs;
    }

    /** Creates or truncates nothing: makes {@code file} owner-only (0600) if it is ours and looser. */
    public static void tighten(Path file) throws IOException {
        if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)
                && !Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS).equals(OWNER_FILE)) {
            Files.setPosixFilePermissions(file, OWNER_FILE);
        }
    }

    private static int uid(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    /** This process's real user id, from /proc (the JVM does not say). */
    public static int currentUid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.substring(4).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no Uid line in /proc/self/status");
    }

    /** This process's umask, from /proc; -1 where the kernel does not say. */
    public static int umask() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Umask:")) {
                    return Integer.parseInt(line.substring(6).trim(), 8);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
