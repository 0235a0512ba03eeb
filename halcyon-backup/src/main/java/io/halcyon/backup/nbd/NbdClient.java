package io.halcyon.backup.nbd;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A client of the NBD protocol (fixed newstyle handshake, structured replies, block status), over
 * a UNIX socket, one request at a time: what reading a volume through qemu-nbd or QEMU's own NBD
 * server needs. Structured replies are what let a read skip holes and block status tell allocated
 * from unallocated and dirty from clean without reading anything. Not thread-safe.
 */
public final class NbdClient implements AutoCloseable {
    private static final long NBDMAGIC = 0x4e42444d41474943L;
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final long OPT_REPLY_MAGIC = 0x0003e889045565a9L;
    private static final int REQUEST_MAGIC = 0x25609513;
    private static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    private static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    private static final int OPT_ABORT = 2;
    private static final int OPT_GO = 7;
    private static final int OPT_STRUCTURED_REPLY = 8;
    private static final int OPT_SET_META_CONTEXT = 10;
    private static final int REP_ACK = 1;
    private static final int REP_INFO = 3;
    private static final int REP_META_CONTEXT = 4;
    private static final int INFO_EXPORT = 0;
    private static final int INFO_BLOCK_SIZE = 3;

    private static final int CMD_READ = 0;
    private static final int CMD_WRITE = 1;
    private static final int CMD_DISC = 2;
    private static final int CMD_FLUSH = 3;
    private static final int CMD_BLOCK_STATUS = 7;

    private static final int FLAG_READ_ONLY = 1 << 1;
    private static final int REPLY_FLAG_DONE = 1;
    private static final int REPLY_NONE = 0;
    private static final int REPLY_OFFSET_DATA = 1;
    private static final int REPLY_OFFSET_HOLE = 2;
    private static final int REPLY_BLOCK_STATUS = 5;
    private static final int REPLY_ERROR_BIT = 1 << 15;

    /** The largest request qemu's NBD server accepts. */
    public static final int MAX_REQUEST = 32 * 1024 * 1024;

    private final SocketChannel ch;
    private final ByteBuffer head = ByteBuffer.allocate(64);
    private final long size;
    private final int transmissionFlags;
    private final Map<String, Integer> contexts;
    private final Map<Integer, String> contextNames = new HashMap<>();
    private long cookie;

    private NbdClient(SocketChannel ch, long size, int transmissionFlags, Map<String, Integer> contexts) {
        this.ch = ch;
        this.size = size;
        this.transmissionFlags = transmissionFlags;
        this.contexts = contexts;
        contexts.forEach((k, v) -> contextNames.put(v, k));
    }

    /**
     * @param metaContexts the block status contexts wanted, e.g. {@code base:allocation} and
     *                     {@code qemu:dirty-bitmap:NAME}; each must be granted, else this fails
     */
    public static NbdClient connect(Path socket, String export, List<String> metaContexts) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
            Handshake h = new Handshake(ch);
            return h.run(export, metaContexts);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public long size() {
        return size;
    }

    public boolean readOnly() {
        return (transmissionFlags & FLAG_READ_ONLY) != 0;
    }

    public boolean hasContext(String name) {
        return contexts.containsKey(name);
    }

    /**
     * Status of the bytes from {@code offset}, per context asked for at connect: each list starts
     * at {@code offset} and covers at least one byte; the server may describe less than asked.
     */
    public Map<String, List<Extent>> blockStatus(long offset, long length) throws IOException {
        int len = (int) Math.min(length, 0xFFFF_F000L & Integer.MAX_VALUE);
        long c = request(CMD_BLOCK_STATUS, 0, offset, len, null, 0, 0);
        var out = new LinkedHashMap<String, List<Extent>>();
        boolean done = false;
        while (!done) {
            int magic = readInt();
            if (magic != STRUCTURED_REPLY_MAGIC) {
                readSimpleRest(magic, c, "block status");
                throw new NbdException("block status: the server sent a simple reply");
            }
            Reply r = readStructuredHeader(c);
            done = r.done();
            if (r.type() == REPLY_BLOCK_STATUS) {
                ByteBuffer p = readFully(r.length());
                String name = contextNames.get(p.getInt());
                var extents = new ArrayList<Extent>();
                long at = offset;
                while (p.remaining() >= 8) {
                    long l = Integer.toUnsignedLong(p.getInt());
                    int flags = p.getInt();
                    extents.add(new Extent(at, l, flags));
                    at += l;
                }
                if (name != null) {
                    out.put(name, extents);
                }
            } else {
                handleOther(r, "block status at " + offset);
            }
        }
        return out;
    }

    /**
     * Reads {@code len} bytes at {@code offset} into {@code buf}; holes the server reports come back
     * as zeros without crossing the socket.
     *
     * @return the bytes that came as data (the rest were holes)
     */
    public long read(long offset, byte[] buf, int off, int len) throws IOException {
        long c = request(CMD_READ, 0, offset, len, null, 0, 0);
        long data = 0;
        boolean done = false;
        while (!done) {
            int magic = readInt();
            if (magic == SIMPLE_REPLY_MAGIC) {
                readSimpleRest(magic, c, "read at " + offset);
                fill(ByteBuffer.wrap(buf, off, len));
                return len;
            }
            if (magic != STRUCTURED_REPLY_MAGIC) {
                throw new NbdException("bad reply magic " + Integer.toHexString(magic));
            }
            Reply r = readStructuredHeader(c);
            done = r.done();
            switch (r.type()) {
                case REPLY_OFFSET_DATA -> {
                    long at = readFully(8).getLong();
                    int n = r.length() - 8;
                    checkRange(at, n, offset, len);
                    fill(ByteBuffer.wrap(buf, off + (int) (at - offset), n));
                    data += n;
                }
                case REPLY_OFFSET_HOLE -> {
                    ByteBuffer p = readFully(12);
                    long at = p.getLong();
                    int n = p.getInt();
                    checkRange(at, n, offset, len);
                    Arrays.fill(buf, off + (int) (at - offset), off + (int) (at - offset) + n, (byte) 0);
                }
                default -> handleOther(r, "read at " + offset);
            }
        }
        return data;
    }

    public void write(long offset, byte[] buf, int off, int len) throws IOException {
        long c = request(CMD_WRITE, 0, offset, len, buf, off, len);
        awaitAck(c, "write at " + offset);
    }

    public void flush() throws IOException {
        long c = request(CMD_FLUSH, 0, 0, 0, null, 0, 0);
        awaitAck(c, "flush");
    }

    @Override
    public void close() throws IOException {
        try {
            if (ch.isOpen()) {
                request(CMD_DISC, 0, 0, 0, null, 0, 0);
            }
        } catch (IOException e) {
            // the server may be gone already
        } finally {
            ch.close();
        }
    }

    // ---- transmission ----

    private record Reply(int flags, int type, int length) {
        boolean done() {
            return (flags & REPLY_FLAG_DONE) != 0;
        }
    }

    private long request(int type, int flags, long offset, int len, byte[] data, int off, int dataLen) throws IOException {
        long c = ++cookie;
        head.clear();
        head.putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(c).putLong(offset).putInt(len).flip();
        writeFully(head);
        if (data != null) {
            writeFully(ByteBuffer.wrap(data, off, dataLen));
        }
        return c;
    }

    private void awaitAck(long c, String what) throws IOException {
        int magic = readInt();
        if (magic == SIMPLE_REPLY_MAGIC) {
            readSimpleRest(magic, c, what);
            return;
        }
        if (magic != STRUCTURED_REPLY_MAGIC) {
            throw new NbdException(what + ": bad reply magic " + Integer.toHexString(magic));
        }
        boolean done = false;
        while (!done) {
            Reply r = readStructuredHeader(c);
            done = r.done();
            handleOther(r, what);
            if (!done) {
                magic = readInt();
                if (magic != STRUCTURED_REPLY_MAGIC) {
                    throw new NbdException(what + ": bad reply magic " + Integer.toHexString(magic));
                }
            }
        }
    }

    private void readSimpleRest(int magic, long c, String what) throws IOException {
        ByteBuffer b = readFully(12);
        int error = b.getInt();
        long got = b.getLong();
        if (got != c) {
            throw new NbdException(what + ": reply to request " + got + ", expected " + c);
        }
        if (error != 0) {
            throw new NbdException(what + " failed: " + errno(error));
        }
    }

    private Reply readStructuredHeader(long c) throws IOException {
        ByteBuffer b = readFully(16);
        int flags = Short.toUnsignedInt(b.getShort());
        int type = Short.toUnsignedInt(b.getShort());
        long got = b.getLong();
        int length = b.getInt();
        if (got != c) {
            throw new NbdException("reply to request " + got + ", expected " + c);
        }
        return new Reply(flags, type, length);
    }

    private void handleOther(Reply r, String what) throws IOException {
        if ((r.type() & REPLY_ERROR_BIT) != 0) {
            ByteBuffer p = readFully(r.length());
            int error = p.getInt();
            int msgLen = Short.toUnsignedInt(p.getShort());
            byte[] msg = new byte[Math.min(msgLen, p.remaining())];
            p.get(msg);
            throw new NbdException(what + " failed: " + errno(error) + (msg.length > 0 ? " (" + new String(msg, StandardCharsets.UTF_8) + ")" : ""));
        }
        if (r.type() != REPLY_NONE && r.length() > 0) {
            readFully(r.length());
        }
    }

    private static void checkRange(long at, int n, long offset, int len) throws NbdException {
        if (at < offset || n < 0 || at + n > offset + len) {
            throw new NbdException("the server answered for bytes outside the request");
        }
    }

    static String errno(int e) {
        return switch (e) {
            case 1 -> "EPERM (not permitted)";
            case 5 -> "EIO (input/output error)";
            case 12 -> "ENOMEM";
            case 22 -> "EINVAL (invalid request)";
            case 28 -> "ENOSPC (no space left)";
            case 75 -> "EOVERFLOW";
            case 95 -> "ENOTSUP";
            case 108 -> "ESHUTDOWN (server shutting down)";
            default -> "error " + e;
        };
    }

    // ---- handshake ----

    private static final class Handshake {
        private final SocketChannel ch;

        Handshake(SocketChannel ch) {
            this.ch = ch;
        }

        NbdClient run(String export, List<String> metaContexts) throws IOException {
            ByteBuffer greet = read(ch, 18);
            if (greet.getLong() != NBDMAGIC || greet.getLong() != IHAVEOPT) {
                throw new NbdException("not an NBD server speaking the newstyle handshake");
            }
            int serverFlags = Short.toUnsignedInt(greet.getShort());
            if ((serverFlags & 1) == 0) {
                throw new NbdException("the NBD server lacks the fixed newstyle handshake");
            }
            write(ch, ByteBuffer.allocate(4).putInt(1 | (serverFlags & 2)).flip());
            option(OPT_STRUCTURED_REPLY, new byte[0]);
            expectAck(OPT_STRUCTURED_REPLY, "structured replies");
            var contexts = new LinkedHashMap<String, Integer>();
            if (!metaContexts.isEmpty()) {
                byte[] name = export.getBytes(StandardCharsets.UTF_8);
                int len = 4 + name.length + 4;
                for (String q : metaContexts) {
                    len += 4 + q.getBytes(StandardCharsets.UTF_8).length;
                }
                ByteBuffer b = ByteBuffer.allocate(len).putInt(name.length).put(name).putInt(metaContexts.size());
                for (String q : metaContexts) {
                    byte[] qb = q.getBytes(StandardCharsets.UTF_8);
                    b.putInt(qb.length).put(qb);
                }
                option(OPT_SET_META_CONTEXT, b.array());
                while (true) {
                    OptReply r = reply(OPT_SET_META_CONTEXT);
                    if (r.type() == REP_ACK) {
                        break;
                    }
                    if (r.type() == REP_META_CONTEXT) {
                        int id = r.data().getInt();
                        byte[] n = new byte[r.data().remaining()];
                        r.data().get(n);
                        contexts.put(new String(n, StandardCharsets.UTF_8), id);
                    } else {
                        throw new NbdException("meta contexts refused: " + r.describe());
                    }
                }
                for (String q : metaContexts) {
                    if (!contexts.containsKey(q)) {
                        throw new NbdException("the NBD server does not offer " + q + " on export '" + export + "'");
                    }
                }
            }
            byte[] name = export.getBytes(StandardCharsets.UTF_8);
            ByteBuffer go = ByteBuffer.allocate(4 + name.length + 2 + 2).putInt(name.length).put(name).putShort((short) 1)
                    .putShort((short) INFO_BLOCK_SIZE);
            option(OPT_GO, go.array());
            long size = -1;
            int flags = 0;
            while (true) {
                OptReply r = reply(OPT_GO);
                if (r.type() == REP_ACK) {
                    break;
                }
                if (r.type() == REP_INFO) {
                    int info = Short.toUnsignedInt(r.data().getShort());
                    if (info == INFO_EXPORT) {
                        size = r.data().getLong();
                        flags = Short.toUnsignedInt(r.data().getShort());
                    }
                } else {
                    throw new NbdException("export '" + export + "' refused: " + r.describe());
                }
            }
            if (size < 0) {
                throw new NbdException("the NBD server did not say the export's size");
            }
            return new NbdClient(ch, size, flags, contexts);
        }

        private record OptReply(int type, ByteBuffer data) {
            String describe() {
                String msg = data.hasRemaining() ? ": " + StandardCharsets.UTF_8.decode(data.duplicate()) : "";
                return switch (type) {
                    case 0x80000001 -> "unsupported" + msg;
                    case 0x80000002 -> "policy" + msg;
                    case 0x80000003 -> "invalid" + msg;
                    case 0x80000006 -> "unknown export" + msg;
                    default -> "reply " + Integer.toHexString(type) + msg;
                };
            }
        }

        private void option(int opt, byte[] data) throws IOException {
            write(ch, ByteBuffer.allocate(16 + data.length).putLong(IHAVEOPT).putInt(opt).putInt(data.length).put(data).flip());
        }

        private OptReply reply(int opt) throws IOException {
            ByteBuffer h = read(ch, 20);
            if (h.getLong() != OPT_REPLY_MAGIC) {
                throw new NbdException("bad option reply magic");
            }
            int got = h.getInt();
            int type = h.getInt();
            int len = h.getInt();
            if (got != opt) {
                throw new NbdException("reply to option " + got + ", expected " + opt);
            }
            return new OptReply(type, read(ch, len));
        }

        private void expectAck(int opt, String what) throws IOException {
            OptReply r = reply(opt);
            if (r.type() != REP_ACK) {
                throw new NbdException("the NBD server refused " + what + ": " + r.describe());
            }
        }
    }

    // ---- I/O ----

    private int readInt() throws IOException {
        return readFully(4).getInt();
    }

    private ByteBuffer readFully(int n) throws IOException {
        ByteBuffer b = n <= head.capacity() ? head.clear().limit(n) : ByteBuffer.allocate(n);
        fill(b);
        return b.flip();
    }

    private void fill(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new NbdException("the NBD server closed the connection");
            }
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static ByteBuffer read(SocketChannel ch, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new NbdException("the NBD server closed the connection during the handshake");
            }
        }
        return b.flip();
    }

    private static void write(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
