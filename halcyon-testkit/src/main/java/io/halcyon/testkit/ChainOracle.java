package io.halcyon.testkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The checker of the test guest's write oracle ({@code guest/chain.c}): every boot of an HA guest
 * appends chained records to a ring on its disk, each written with O_DIRECT|O_DSYNC, and prints
 * each to a serial port the host logs. A guest that never ran twice leaves one unbroken chain:
 * every record's {@code prev} is the hash of the record one sequence number before, no sequence
 * number was written twice with different contents (in the logs of all its QEMUs together, or on
 * the disk against them), and the boot ids follow each other without interleaving.
 */
public final class ChainOracle {
    /** The ring: 2,048 records of 512 bytes, ending 1 MiB before the disk's end (the last MiB holds the HA tests' marker). */
    public static final int SLOTS = 2048;
    static final int REC = 512;

    private ChainOracle() {
    }

    public record Record(long seq, String boot, long bootSeq, String prev, String self) {
    }

    /** The guest's command that starts the writer (in user data): a record every {@code periodMicros}, on the second serial port. */
    public static String writerCommand(int periodMicros) {
        return "s=$(cat /sys/block/vda/size); /bin/halcyon-chain /dev/vda $(( (s - 4096) * 512 )) " + SLOTS + " /dev/ttyS1 " + periodMicros
                + " </dev/null >/dev/null 2>/dev/ttyS1 &\n";
    }

    /** The records of one QEMU's log of the second serial port, and its errors. */
    public static List<Record> parseLog(String text, List<String> errors) {
        var out = new ArrayList<Record>();
        for (String line : text.split("\r?\n")) {
            String[] w = line.trim().split(" ");
            if (w.length == 6 && w[0].equals("chain")) {
                out.add(new Record(Long.parseLong(w[1]), w[2], Long.parseLong(w[3]), w[4], w[5]));
            } else if (line.contains("halcyon-chain:")) {
                errors.add(line.trim());
            }
        }
        return out;
    }

    /** The valid records of the ring as read from the disk (little-endian, as chain.c lays them out). */
    public static List<Record> parseRing(byte[] ring) {
        var out = new ArrayList<Record>();
        for (int off = 0; off + REC <= ring.length; off += REC) {
            ByteBuffer b = ByteBuffer.wrap(ring, off, REC).order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[8];
            b.get(magic);
            if (!new String(magic, StandardCharsets.US_ASCII).equals("HLCHAIN1")) {
                continue;
            }
            long seq = b.getLong();
            long boot = b.getLong();
            long bootSeq = b.getLong();
            long prev = b.getLong();
            long self = b.getLong();
            if (fnv(ring, off, 40) != self) {
                continue; // torn or foreign: not a record
            }
            out.add(new Record(seq, hex(boot), bootSeq, hex(prev), hex(self)));
        }
        return out;
    }

    static long fnv(byte[] b, int off, int n) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < n; i++) {
            h ^= b[off + i] & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    static String hex(long v) {
        return String.format("%016x", v);
    }

    /** What is wrong with the records; empty when they form one unbroken chain of non-interleaved boots. */
    public static List<String> check(Collection<Record> disk, Collection<? extends Collection<Record>> logs) {
        var problems = new ArrayList<String>();
        var bySeq = new TreeMap<Long, Record>();
        for (var log : logs) {
            for (Record r : log) {
                Record seen = bySeq.putIfAbsent(r.seq(), r);
                if (seen != null && !seen.equals(r)) {
                    problems.add("sequence " + r.seq() + " written twice: by boot " + seen.boot() + " and by boot " + r.boot());
                }
            }
        }
        var diskBySeq = new TreeMap<Long, Record>();
        disk.forEach(r -> diskBySeq.put(r.seq(), r));
        for (Record r : diskBySeq.values()) {
            Record logged = bySeq.get(r.seq());
            if (logged != null && !logged.equals(r)) {
                problems.add("sequence " + r.seq() + " on the disk is boot " + r.boot() + "'s, the logs say boot " + logged.boot() + "'s");
            }
        }
        problems.addAll(chain("logs", merged(bySeq, diskBySeq)));
        problems.addAll(chain("disk", diskBySeq));
        return problems;
    }

    /** The logs' records, with the disk's filling the gaps (a record written just before its QEMU was killed, never printed). */
    private static TreeMap<Long, Record> merged(Map<Long, Record> logs, Map<Long, Record> disk) {
        var all = new TreeMap<>(disk);
        all.putAll(logs);
        return all;
    }

    private static List<String> chain(String where, TreeMap<Long, Record> bySeq) {
        var problems = new ArrayList<String>();
        Record before = null;
        var boots = new LinkedHashSet<String>();
        for (Record r : bySeq.values()) {
            if (before != null && r.seq() == before.seq() + 1 && !r.prev().equals(before.self())) {
                problems.add(where + ": chain broken at sequence " + r.seq() + " (boot " + r.boot() + " follows " + before.boot() + ")");
            }
            if (before == null || !before.boot().equals(r.boot())) {
                if (!boots.add(r.boot())) {
                    problems.add(where + ": boot " + r.boot() + " writes again at sequence " + r.seq() + " after another boot");
                }
            }
            before = r;
        }
        return problems;
    }

    /** The ring of a guest's qcow2 or raw root disk, read beside the QEMU that may hold it. */
    public static byte[] readRing(Path disk, String format) throws IOException {
        var info = Command.run(List.of("qemu-img", "info", "-U", "--output=json", "-f", format, disk.toString()), Map.of(),
                Duration.ofSeconds(60)).orThrow().stdout();
        var m = java.util.regex.Pattern.compile("\"virtual-size\":\\s*(\\d+)").matcher(info);
        if (!m.find()) {
            throw new IOException("no virtual size for " + disk + ": " + info);
        }
        long sectors = Long.parseLong(m.group(1)) / REC;
        long skip = sectors - 4096;
        Path out = Files.createTempFile("chain-ring", ".raw");
        try {
            // qemu-img dd counts the skipped blocks in count
            Command.run(List.of("qemu-img", "dd", "-U", "-f", format, "-O", "raw", "bs=" + REC, "skip=" + skip, "count=" + (skip + SLOTS),
                    "if=" + disk, "of=" + out), Map.of(), Duration.ofSeconds(60)).orThrow();
            byte[] ring = Files.readAllBytes(out);
            if (ring.length != SLOTS * REC) {
                throw new IOException("read " + ring.length + " bytes of the ring of " + disk);
            }
            return ring;
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
