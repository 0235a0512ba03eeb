package io.halcyon.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/** The qemu-img calls backups need: size and persistent bitmaps of a qcow2, adding and removing bitmaps, new images. */
public final class QemuImage {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String qemuImg;

    public QemuImage(String qemuImg) {
        this.qemuImg = requireNonNull(qemuImg, "qemuImg is null");
    }

    /** A persistent dirty bitmap; {@code inUse} on an image nobody has open means QEMU exited uncleanly and it cannot be trusted. */
    public record Bitmap(String name, boolean inUse, boolean enabled) {
    }

    public record Info(long virtualSize, List<Bitmap> bitmaps) {
        public Bitmap bitmap(String name) {
            return bitmaps.stream().filter(b -> b.name().equals(name)).findFirst().orElse(null);
        }
    }

    public Info info(Path image) throws IOException {
        JsonNode n = JSON.readTree(run("info", "--output=json", "-f", "qcow2", image.toString()));
        var bitmaps = new ArrayList<Bitmap>();
        for (JsonNode b : n.path("format-specific").path("data").path("bitmaps")) {
            var flags = new ArrayList<String>();
            b.path("flags").forEach(f -> flags.add(f.asText()));
            bitmaps.add(new Bitmap(b.path("name").asText(), flags.contains("in-use"), flags.contains("auto")));
        }
        return new Info(n.path("virtual-size").asLong(), bitmaps);
    }

    /** Bytes the image file takes on disk. */
    public long allocated(Path image) throws IOException {
        return JSON.readTree(run("info", "--output=json", "-f", "qcow2", image.toString())).path("actual-size").asLong();
    }

    public void addBitmap(Path image, String name) throws IOException {
        run("bitmap", "--add", "-f", "qcow2", image.toString(), name);
    }

    public void removeBitmap(Path image, String name) throws IOException {
        run("bitmap", "--remove", "-f", "qcow2", image.toString(), name);
    }

    public void create(Path image, long size) throws IOException {
        run("create", "-q", "-f", "qcow2", image.toString(), Long.toString(size));
    }

    private String run(String... args) throws IOException {
        var cmd = new ArrayList<String>();
        cmd.add(qemuImg);
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("qemu-img " + args[0] + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            String line = text.lines().filter(l -> !l.isBlank()).findFirst().orElse("exit " + p.exitValue());
            throw new IOException("qemu-img " + args[0] + ": " + line.replaceFirst("^qemu-img: ", ""));
        }
        return text;
    }
}
