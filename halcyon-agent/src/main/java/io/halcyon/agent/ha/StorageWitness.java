package io.halcyon.agent.ha;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static java.util.Objects.requireNonNull;

/**
 * The host's heartbeat on the shared storage, a witness beyond the controllers: a small file
 * named after the host in a directory every host and the controllers share, rewritten in place
 * and synchronously (O_DSYNC) on every beat. The leader reads it; while a host can still write it,
 * the leader does not count the host as gone, and the host does not self-fence (a control-plane
 * outage kills nothing). A host that can reach neither self-fences as before.
 */
public final class StorageWitness implements AutoCloseable {
    private final Path file;
    private final String bootId;
    private FileChannel channel;
    private long seq;

    public StorageWitness(Path dir, String host, String bootId) {
        this.file = requireNonNull(dir, "dir is null").resolve(requireNonNull(host, "host is null"));
        this.bootId = requireNonNull(bootId, "bootId is null");
    }

    public Path file() {
        return file;
    }

    /** One beat: the boot id and a new sequence number, on the storage before this returns. */
    public synchronized void beat() throws IOException {
        if (channel == null) {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.DSYNC);
        }
        byte[] line = String.format("%s %020d\n", bootId, ++seq).getBytes(StandardCharsets.US_ASCII);
        var buf = ByteBuffer.wrap(line);
        long at = 0;
        while (buf.hasRemaining()) {
            at += channel.write(buf, at);
        }
    }

    @Override
    public synchronized void close() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // a closed witness is simply no longer written
            }
            channel = null;
        }
    }
}
