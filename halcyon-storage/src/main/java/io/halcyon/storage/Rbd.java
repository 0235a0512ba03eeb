package io.halcyon.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * Ceph's {@code rbd} and {@code ceph} commands for one pool, with JSON output. The control plane
 * uses the commands rather than librbd in the JVM: a hung or crashing librados call then costs a
 * killed child process, never the controller, and every call has a time limit. The data path
 * never goes through here: QEMU opens images with its own librbd.
 */
public final class Rbd {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** librados' ENOENT, as the commands print it. */
    private static final String NO_SUCH = "No such file or directory";

    private final String pool;
    private final Path conf;
    private final String user;
    private final long timeoutSeconds;

    public Rbd(String pool, Path conf, String user, long timeoutSeconds) {
        this.pool = requireNonNull(pool, "pool is null");
        this.conf = requireNonNull(conf, "conf is null");
        this.user = user == null ? "admin" : user;
        this.timeoutSeconds = timeoutSeconds;
    }

    /** The client a disk of the {@code rbd} driver names: its pool, ceph.conf and Ceph user, as the backend wrote them. */
    public static Rbd forDisk(io.halcyon.model.agent.DiskSpec d, long timeoutSeconds) {
        var o = d.options();
        return new Rbd(o.getOrDefault("pool", "rbd"), Path.of(o.getOrDefault("conf", "/etc/ceph/ceph.conf")), o.get("user"), timeoutSeconds);
    }

    public String pool() {
        return pool;
    }

    public Path conf() {
        return conf;
    }

    public String user() {
        return user;
    }

    /** An image's spec as the commands take it. */
    public String spec(String image) {
        return pool + "/" + image;
    }

    /** The image as qemu-img and qemu-nbd name it ({@code rbd:} filename syntax, with a snapshot when given). */
    public String qemuFilename(String image, String snapshot) {
        return "rbd:" + pool + "/" + image + (snapshot == null ? "" : "@" + snapshot) + ":conf=" + conf + ":id=" + user;
    }

    /** A command that failed; {@link #missing()} when Ceph said the object does not exist. */
    public static final class RbdException extends StorageException {
        private final int exit;
        private final String output;

        RbdException(String message, int exit, String output) {
            super(message);
            this.exit = exit;
            this.output = output;
        }

        public boolean missing() {
            return output.contains(NO_SUCH) || exit == 2;
        }

        public boolean exists() {
            return output.contains("File exists");
        }

        public boolean busy() {
            return output.contains("Device or resource busy") || output.contains("has snapshots") || output.contains("children");
        }

        public String output() {
            return output;
        }
    }

    public String rbd(String... args) throws StorageException {
        return exec("rbd", List.of(args));
    }

    public String ceph(String... args) throws StorageException {
        return exec("ceph", List.of(args));
    }

    public JsonNode rbdJson(String... args) throws StorageException {
        var all = new ArrayList<>(List.of(args));
        all.add("--format");
        all.add("json");
        return parse(exec("rbd", all), args[0]);
    }

    public JsonNode cephJson(String... args) throws StorageException {
        var all = new ArrayList<>(List.of(args));
        all.add("--format");
        all.add("json");
        return parse(exec("ceph", all), args[0]);
    }

    private static JsonNode parse(String out, String what) throws StorageException {
        try {
            return out.isBlank() ? JSON.createArrayNode() : JSON.readTree(out);
        } catch (IOException e) {
            throw new StorageException("cannot read the output of " + what + ": " + e.getMessage(), e);
        }
    }

    private String exec(String tool, List<String> args) throws StorageException {
        var cmd = new ArrayList<String>();
        cmd.add(tool);
        cmd.addAll(List.of("-c", conf.toString(), "--id", user));
        // an unreachable cluster fails in seconds rather than at librados' 5 minute default
        cmd.addAll("ceph".equals(tool) ? List.of("--connect-timeout", "30") : List.of("--client-mount-timeout", "30"));
        cmd.addAll(args);
        Path err = null;
        try {
            err = Files.createTempFile("rbd", ".err");
            Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new StorageException(tool + " " + String.join(" ", args) + " timed out after " + timeoutSeconds + " s");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                String msg = (Files.readString(err) + "\n" + text).strip();
                throw new RbdException(tool + " " + args.get(0) + (args.size() > 1 ? " " + args.get(1) : "") + " failed: " + lastLine(msg),
                        p.exitValue(), msg);
            }
            return text;
        } catch (IOException e) {
            throw new StorageException("cannot run " + tool + " (is ceph-common installed?): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted running " + tool, e);
        } finally {
            if (err != null) {
                try {
                    Files.deleteIfExists(err);
                } catch (IOException ignored) {
                    // a temp file
                }
            }
        }
    }

    private static String lastLine(String s) {
        String[] lines = s.strip().split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            String l = lines[i].strip();
            if (!l.isEmpty() && !l.contains("% complete")) {
                return l.length() > 400 ? l.substring(0, 400) : l;
            }
        }
        return "(no output)";
    }

    public boolean imageExists(String image) throws StorageException {
        return info(image).isPresent();
    }

    /** The image's {@code rbd info}; empty when it does not exist. */
    public java.util.Optional<JsonNode> info(String image) throws StorageException {
        try {
            return java.util.Optional.of(rbdJson("info", spec(image)));
        } catch (RbdException e) {
            if (e.missing()) {
                return java.util.Optional.empty();
            }
            throw e;
        }
    }

    /** Images with their snapshots: one entry per image and one per snapshot ({@code rbd ls -l}). */
    public JsonNode listLong() throws StorageException {
        return rbdJson("ls", "-l", pool);
    }

    public List<String> images() throws StorageException {
        var out = new ArrayList<String>();
        rbdJson("ls", pool).forEach(n -> out.add(n.asText()));
        return out;
    }

    public List<String> snapshots(String image) throws StorageException {
        var out = new ArrayList<String>();
        rbdJson("snap", "ls", spec(image)).forEach(n -> out.add(n.path("name").asText()));
        return out;
    }

    /** Removes an image (after its snapshots); absent already counts as done. */
    public void remove(String image) throws StorageException {
        try {
            for (String s : snapshots(image)) {
                removeSnapshot(image, s);
            }
            rbd("rm", "--no-progress", spec(image));
        } catch (RbdException e) {
            if (!e.missing()) {
                throw e;
            }
        }
    }

    public void createSnapshot(String image, String snap) throws StorageException {
        try {
            rbd("snap", "create", "--no-progress", spec(image) + "@" + snap);
        } catch (RbdException e) {
            if (!e.exists()) {
                throw e;
            }
        }
    }

    /** Removes a snapshot, unprotecting it first; absent already counts as done. */
    public void removeSnapshot(String image, String snap) throws StorageException {
        try {
            rbd("snap", "unprotect", spec(image) + "@" + snap);
        } catch (RbdException e) {
            // not protected, or gone: the removal below says which
        }
        try {
            rbd("snap", "rm", "--no-progress", spec(image) + "@" + snap);
        } catch (RbdException e) {
            if (!e.missing()) {
                throw e;
            }
        }
    }

    public void protect(String image, String snap) throws StorageException {
        try {
            rbd("snap", "protect", spec(image) + "@" + snap);
        } catch (RbdException e) {
            if (!e.busy() && !e.output().contains("already protected")) {
                throw e;
            }
        }
    }

    public void clone(String parent, String snap, String child) throws StorageException {
        rbd("clone", spec(parent) + "@" + snap, spec(child));
    }

    public void rename(String from, String to) throws StorageException {
        rbd("rename", spec(from), spec(to));
    }

    public void resize(String image, long bytes) throws StorageException {
        rbd("resize", "--no-progress", "--size", bytes + "B", spec(image));
    }

    /** Resizes to {@code bytes} unless the image is that large or larger already (then it stays as it is); never shrinks. */
    public void growTo(String image, long bytes) throws StorageException {
        if (bytes <= 0) {
            return;
        }
        try {
            resize(image, bytes);
        } catch (RbdException e) {
            if (!e.output().contains("allow-shrink") && !e.output().contains("equal to original size")) {
                throw e;
            }
        }
    }

    public void flatten(String image) throws StorageException {
        rbd("flatten", "--no-progress", spec(image));
    }

    public void create(String image, long bytes) throws StorageException {
        rbd("create", "--size", bytes + "B", spec(image));
    }
}
