package io.halcyon.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/** The qemu-img operations the file backend needs, with the image format always stated (never probed). */
public final class QemuImg {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String binary;

    public QemuImg(String binary) {
        this.binary = requireNonNull(binary, "binary is null");
    }

    public record Info(long virtualSize, long actualSize, String backingFile) {
    }

    private String run(List<String> args, long timeoutSeconds) throws StorageException {
        var cmd = new ArrayList<String>();
        cmd.add(binary);
        cmd.addAll(args);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new StorageException("qemu-img " + args.get(0) + " timed out");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new StorageException("qemu-img " + args.get(0) + " failed: " + text.trim());
            }
            return text;
        } catch (IOException e) {
            throw new StorageException("cannot run qemu-img: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted running qemu-img", e);
        }
    }

    /** A new qcow2, empty or as an overlay of {@code backing} (given relative to the new file's directory). */
    public void create(Path file, long sizeBytes, String backing, String backingFormat) throws StorageException {
        var args = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
        if (backing != null) {
            args.addAll(List.of("-F", backingFormat, "-b", backing));
        }
        args.add(file.toString());
        if (sizeBytes > 0) {
            args.add(Long.toString(sizeBytes));
        }
        run(args, 120);
    }

    /** A standalone copy of a whole chain; only allocated data is written, so the copy stays sparse. */
    public void convert(Path from, String fromFormat, Path to, String toFormat) throws StorageException {
        convert(from.toString(), fromFormat, to.toString(), toFormat);
    }

    /** As {@link #convert(Path, String, Path, String)} for any names qemu-img opens ({@code rbd:...} included). */
    public void convert(String from, String fromFormat, String to, String toFormat) throws StorageException {
        run(List.of("convert", "-q", "-f", fromFormat, "-O", toFormat, from, to), 3600);
    }

    /** Writes into an existing target (an RBD image made beforehand) rather than creating it. */
    public void convertInto(String from, String fromFormat, String to, String toFormat) throws StorageException {
        run(List.of("convert", "-q", "-n", "-f", fromFormat, "-O", toFormat, from, to), 3600);
    }

    public void resize(Path file, String format, long sizeBytes) throws StorageException {
        run(List.of("resize", "-q", "-f", format, file.toString(), Long.toString(sizeBytes)), 120);
    }

    public Info info(Path file, String format) throws StorageException {
        return info(file.toString(), format);
    }

    public Info info(String file, String format) throws StorageException {
        String out = run(List.of("info", "--output=json", "-f", format, file), 60);
        try {
            JsonNode n = JSON.readTree(out);
            return new Info(n.path("virtual-size").asLong(), n.path("actual-size").asLong(),
                    n.hasNonNull("backing-filename") ? n.get("backing-filename").asText() : null);
        } catch (IOException e) {
            throw new StorageException("cannot read qemu-img info: " + e.getMessage(), e);
        }
    }

    /** Whether the top layer of a qcow2 overlay holds no data of its own (every read falls through to its backing). */
    public boolean topLayerEmpty(Path file) throws StorageException {
        String out = run(List.of("map", "--output=json", "-f", "qcow2", file.toString()), 300);
        try {
            for (JsonNode e : JSON.readTree(out)) {
                if (e.path("depth").asInt() == 0 && (e.path("data").asBoolean() || !e.path("zero").asBoolean())) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            throw new StorageException("cannot read qemu-img map: " + e.getMessage(), e);
        }
    }
}
