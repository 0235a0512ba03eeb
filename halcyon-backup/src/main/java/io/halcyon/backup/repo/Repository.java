package io.halcyon.backup.repo;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * A backup repository in a directory (local, or NFS shared by hosts):
 * <pre>
 *   halcyon-repo.json         its settings ({@link RepositoryConfig})
 *   chunks/ab/abcd…           chunks by id, in 256 shards
 *   indexes/ID.json           one index per backup, its SHA-256 on its last line
 *   writers/ID                one per backup being written: when it started (the collector's cutoff)
 *   lock                      the shard locks ({@link ShardLocks})
 * </pre>
 * Every file appears whole or not at all (write, fsync, rename, fsync the directory), and an
 * index is written only after every chunk it names is durable: a crash at any instruction leaves
 * no half chunk and no index that points at a missing chunk.
 */
public final class Repository implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS).enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final String CONFIG = "halcyon-repo.json";
    private static final String CHECKSUM = "\nsha256 ";
    private static final Pattern CHUNK_ID = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern BACKUP_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path dir;
    private final RepositoryConfig config;
    private final Keys keys;
    private final ShardLocks locks;

    private Repository(Path dir, RepositoryConfig config, Keys keys) throws IOException {
        this.dir = dir;
        this.config = config;
        this.keys = keys;
        this.locks = ShardLocks.open(dir.resolve("lock"));
    }

    /**
     * Makes a repository in an empty or missing directory. It is built beside it and renamed into
     * place, so processes racing to make the same repository end with one whole repository: the
     * losers are told the directory is not empty, and open it.
     */
    public static Repository init(Path dir, int chunkSize, Integer zstdLevel, Keys keys) {
        requireNonNull(dir, "dir is null");
        RepositoryConfig.checkChunkSize(chunkSize);
        Path build = null;
        try {
            if (Files.isDirectory(dir)) {
                try (var s = Files.list(dir)) {
                    if (s.findAny().isPresent()) {
                        throw new RepositoryException(dir + " is not empty: a repository is made in an empty directory");
                    }
                }
            }
            Path parent = dir.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            build = Files.createTempDirectory(parent, "." + dir.getFileName() + AtomicFiles.TMP_MARK);
            for (String sub : List.of("chunks", "indexes", "writers")) {
                Files.createDirectories(build.resolve(sub));
            }
            for (int i = 0; i < 256; i++) {
                Files.createDirectories(build.resolve("chunks").resolve(String.format("%02x", i)));
            }
            var config = new RepositoryConfig(RepositoryConfig.FORMAT, UUID.randomUUID().toString(), Instant.now(), chunkSize, zstdLevel,
                    keys == null ? null : keys.check());
            AtomicFiles.write(build.resolve(CONFIG), ByteBuffer.wrap(JSON.writeValueAsBytes(config)));
            try {
                // rename(2) replaces an empty directory, and fails on one that is not
                Files.move(build, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new RepositoryException(dir + " is not empty: a repository is made in an empty directory");
            }
            build = null;
            AtomicFiles.syncDirectory(parent);
            return new Repository(dir, config, keys);
        } catch (IOException e) {
            throw new RepositoryException("cannot make a repository in " + dir + ": " + e.getMessage(), e);
        } finally {
            if (build != null) {
                deleteTree(build);
            }
        }
    }

    private static void deleteTree(Path p) {
        try (var s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // best effort: a leftover build directory holds no data
        }
    }

    /** @param keys the key of an encrypted repository; null for a plain one */
    public static Repository open(Path dir, Keys keys) {
        requireNonNull(dir, "dir is null");
        RepositoryConfig config;
        try {
            config = JSON.readValue(dir.resolve(CONFIG).toFile(), RepositoryConfig.class);
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new RepositoryException(dir + " is not a Halcyon backup repository (no " + CONFIG + ")");
        } catch (IOException e) {
            throw new RepositoryException("cannot read " + dir.resolve(CONFIG) + ": " + e.getMessage(), e);
        }
        if (config.format() != RepositoryConfig.FORMAT) {
            throw new RepositoryException(dir + " has repository format " + config.format() + "; this Halcyon reads format "
                    + RepositoryConfig.FORMAT);
        }
        if (config.encrypted() && keys == null) {
            throw new RepositoryException(dir + " is encrypted: give its key");
        }
        if (config.encrypted() && !keys.matches(config.keyCheck())) {
            throw new RepositoryException("the key given is not the key of " + dir);
        }
        if (!config.encrypted() && keys != null) {
            throw new RepositoryException(dir + " is not encrypted: it takes no key");
        }
        try {
            return new Repository(dir, config, keys);
        } catch (IOException e) {
            throw new RepositoryException("cannot open " + dir + ": " + e.getMessage(), e);
        }
    }

    public Path dir() {
        return dir;
    }

    public RepositoryConfig config() {
        return config;
    }

    public int chunkSize() {
        return config.chunkSize();
    }

    public ChunkCodec codec() {
        return new ChunkCodec(keys, config.zstdLevel() == null ? Integer.MIN_VALUE : config.zstdLevel());
    }

    // ---- chunks ----

    static boolean isChunkId(String s) {
        return CHUNK_ID.matcher(s).matches();
    }

    static int shard(String id) {
        return Integer.parseInt(id.substring(0, 2), 16);
    }

    Path chunkPath(String id) {
        return dir.resolve("chunks").resolve(id.substring(0, 2)).resolve(id);
    }

    ShardLocks locks() {
        return locks;
    }

    /**
     * Keeps a chunk that a backup reuses: when it is present, its time stamp is raised to at least
     * {@code notBefore} (the backup's start) so no collection that overlaps the backup removes it.
     *
     * @return false when the chunk is absent: the caller must store it again
     */
    public boolean reuse(String id, FileTime notBefore) {
        Path p = chunkPath(id);
        try (var l = locks.shared(shard(id))) {
            return touch(p, notBefore);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (Exception e) {
            throw rethrow(e);
        }
    }

    /**
     * Stores a chunk unless present (then kept as {@link #reuse} does); returns the bytes written.
     * The chunk's name is durable only after {@link Writer#sync}, which the writer does before it
     * writes an index: one directory fsync per shard and backup rather than one per chunk.
     */
    public long insert(String id, ByteBuffer stored, Writer writer) {
        Path p = chunkPath(id);
        try (var l = locks.shared(shard(id))) {
            if (touch(p, writer.start())) {
                return 0;
            }
            long n = stored.remaining();
            AtomicFiles.writeUnsynced(p, stored);
            writer.touched(shard(id));
            return n;
        } catch (IOException e) {
            throw new RepositoryException("cannot store chunk " + id + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw rethrow(e);
        }
    }

    private static boolean touch(Path p, FileTime notBefore) throws IOException {
        try {
            FileTime t = Files.getLastModifiedTime(p);
            if (t.compareTo(notBefore) < 0) {
                Files.setLastModifiedTime(p, FileTime.from(Instant.now()));
            }
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    /** The stored form of a chunk. */
    public byte[] readStored(String id) {
        try {
            return Files.readAllBytes(chunkPath(id));
        } catch (NoSuchFileException e) {
            throw new CorruptChunkException(id, "is missing from the repository");
        } catch (IOException e) {
            throw new CorruptChunkException(id, "cannot be read: " + e.getMessage());
        }
    }

    // ---- indexes ----

    static void checkBackupId(String id) {
        if (id == null || !BACKUP_ID.matcher(id).matches()) {
            throw new RepositoryException("bad backup id '" + id + "': letters, digits, '.', '_', '-', at most 128");
        }
    }

    private Path indexPath(String id) {
        checkBackupId(id);
        return dir.resolve("indexes").resolve(id + ".json");
    }

    public boolean hasIndex(String id) {
        return Files.exists(indexPath(id));
    }

    /** Writes a backup's index: call only once every chunk it names is stored. */
    public void writeIndex(BackupIndex index) {
        try {
            byte[] body = JSON.writeValueAsBytes(index);
            String sum = HexFormat.of().formatHex(sha256(body));
            byte[] trailer = (CHECKSUM + sum + "\n").getBytes(StandardCharsets.US_ASCII);
            ByteBuffer all = ByteBuffer.allocate(body.length + trailer.length).put(body).put(trailer).flip();
            AtomicFiles.write(indexPath(index.id()), all);
        } catch (IOException e) {
            throw new RepositoryException("cannot write the index of backup " + index.id() + ": " + e.getMessage(), e);
        }
    }

    public BackupIndex readIndex(String id) {
        Path p = indexPath(id);
        byte[] all;
        try {
            all = Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new NoSuchBackupException(id);
        } catch (IOException e) {
            throw new RepositoryException("cannot read the index of backup " + id + ": " + e.getMessage(), e);
        }
        String text = new String(all, StandardCharsets.UTF_8);
        int at = text.lastIndexOf(CHECKSUM);
        if (at < 0) {
            throw new RepositoryException("the index of backup " + id + " has no checksum line: damaged");
        }
        byte[] body = text.substring(0, at).getBytes(StandardCharsets.UTF_8);
        String want = text.substring(at + CHECKSUM.length()).strip();
        if (!HexFormat.of().formatHex(sha256(body)).equals(want)) {
            throw new RepositoryException("the index of backup " + id + " does not match its checksum: damaged");
        }
        try {
            BackupIndex index = JSON.readValue(body, BackupIndex.class);
            if (!index.id().equals(id)) {
                throw new RepositoryException("the index file of backup " + id + " names backup " + index.id());
            }
            for (String c : index.chunks()) {
                if (c != null && !isChunkId(c)) {
                    throw new RepositoryException("the index of backup " + id + " names a malformed chunk id");
                }
            }
            return index;
        } catch (IOException | IllegalArgumentException e) {
            throw new RepositoryException("the index of backup " + id + " is unreadable: " + e.getMessage(), e);
        }
    }

    /** Ids of every backup in the repository, oldest file first. */
    public List<String> backupIds() {
        var ids = new ArrayList<Path>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir.resolve("indexes"), "*.json")) {
            for (Path p : s) {
                if (!AtomicFiles.isTemporary(p)) {
                    ids.add(p);
                }
            }
        } catch (IOException e) {
            throw new RepositoryException("cannot list " + dir.resolve("indexes") + ": " + e.getMessage(), e);
        }
        ids.sort(Comparator.comparing(p -> p.getFileName().toString()));
        return ids.stream().map(p -> p.getFileName().toString().replaceFirst("\\.json$", "")).toList();
    }

    public List<BackupIndex> indexes() {
        var out = new ArrayList<BackupIndex>();
        for (String id : backupIds()) {
            try {
                out.add(readIndex(id));
            } catch (NoSuchBackupException e) {
                // deleted since listed
            }
        }
        out.sort(Comparator.comparing(BackupIndex::createdAt).thenComparing(BackupIndex::id));
        return out;
    }

    /** Removes a backup's index; its chunks go at the next garbage collection if nothing else uses them. */
    public void deleteIndex(String id) {
        try {
            if (!Files.deleteIfExists(indexPath(id))) {
                throw new NoSuchBackupException(id);
            }
            AtomicFiles.syncDirectory(dir.resolve("indexes"));
        } catch (IOException e) {
            throw new RepositoryException("cannot delete backup " + id + ": " + e.getMessage(), e);
        }
    }

    // ---- writers ----

    /** Announces a backup in progress; the collector spares every chunk touched after its start. */
    public Writer startWriter(String backupId) {
        checkBackupId(backupId);
        Path p = dir.resolve("writers").resolve(backupId);
        try {
            Files.write(p, new byte[0]);
            FileTime start = Files.getLastModifiedTime(p);
            Files.writeString(p, start.toMillis() + " " + WriterProcess.current().describe());
            AtomicFiles.syncDirectory(p.getParent());
            return new Writer(p, start);
        } catch (IOException e) {
            throw new RepositoryException("cannot register backup " + backupId + " in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** A backup in progress; {@link #refresh} it now and then so a collector does not take it for a crashed one. */
    public static final class Writer implements AutoCloseable {
        private final Path file;
        private final FileTime start;
        private final java.util.BitSet shards = new java.util.BitSet(256);

        Writer(Path file, FileTime start) {
            this.file = file;
            this.start = start;
        }

        synchronized void touched(int shard) {
            shards.set(shard);
        }

        /** Makes the names of every chunk this writer stored durable; call before writing the index. */
        public void sync() {
            java.util.BitSet dirty;
            synchronized (this) {
                dirty = (java.util.BitSet) shards.clone();
                shards.clear();
            }
            Path chunks = file.getParent().resolveSibling("chunks");
            try {
                for (int i = dirty.nextSetBit(0); i >= 0; i = dirty.nextSetBit(i + 1)) {
                    AtomicFiles.syncDirectory(chunks.resolve(String.format("%02x", i)));
                }
            } catch (IOException e) {
                throw new RepositoryException("cannot sync the chunks of " + file.getFileName() + ": " + e.getMessage(), e);
            }
        }

        public FileTime start() {
            return start;
        }

        public boolean alive() {
            return Files.exists(file);
        }

        public void refresh() {
            try {
                Files.setLastModifiedTime(file, FileTime.from(Instant.now()));
            } catch (IOException e) {
                throw new RepositoryException("a garbage collection took this backup for a crashed one: " + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Override
    public void close() {
        try {
            locks.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static RuntimeException rethrow(Exception e) {
        return e instanceof RuntimeException r ? r : new RepositoryException(e.getMessage(), e);
    }
}
