package io.halcyon.agent.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.halcyon.backup.BackupRunner;
import io.halcyon.backup.NbdSource;
import io.halcyon.backup.nbd.NbdClient;
import io.halcyon.backup.repo.BackupIndex;
import io.halcyon.backup.repo.Keys;
import io.halcyon.backup.repo.Repository;
import io.halcyon.model.agent.BackupTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A backup of some of a running guest's disks through its QEMU (pull mode, as libvirt does it):
 * <ol>
 *   <li>per disk, a temporary qcow2 overlay ("fleece") and, in one QMP transaction for all the
 *   disks, a {@code blockdev-backup sync=none} into it (from then on QEMU copies every block the
 *   guest overwrites into the fleece first, so the fleece reads as the disk at that instant, the
 *   same instant for every disk), a new persistent dirty bitmap for the next backup, and the
 *   parent's bitmap frozen;</li>
 *   <li>the fleeces exported over NBD on a UNIX socket, each with its parent's bitmap, and read by
 *   {@link BackupRunner} as any other volume, one after the other;</li>
 *   <li>everything removed again; the parents' bitmaps are dropped on success, and on failure the
 *   new ones are merged back into them so no change is ever forgotten.</li>
 * </ol>
 * Every disk's backup is written or none is. Leftovers of an attempt cut short (an agent killed
 * mid-way) are removed before the next one.
 */
final class QemuBackup {
    private static final Logger log = LoggerFactory.getLogger(QemuBackup.class);
    private static final Duration T = Duration.ofSeconds(30);
    static final String BITMAP_PREFIX = "halcyon-";

    /** A disk to back up: its block node in the guest's QEMU, and the task. */
    record Member(String node, BackupTask task) {
        String tag() {
            String t = task.backupId().replaceAll("[^A-Za-z0-9]", "");
            return t.substring(0, Math.min(8, t.length()));
        }

        String fleece() {
            return "hfleece" + tag();
        }

        String job() {
            return "hjob" + tag();
        }

        String export() {
            return "hexp" + tag();
        }

        String mine() {
            return BITMAP_PREFIX + task.backupId();
        }

        String parent() {
            return task.parentId() == null ? null : BITMAP_PREFIX + task.parentId();
        }
    }

    /** What the transaction decided for a member: whether its parent's bitmap is used, and why not. */
    private static final class Plan {
        final Member m;
        final long size;
        final boolean useBitmap;
        final String note;

        Plan(Member m, long size, boolean useBitmap, String note) {
            this.m = m;
            this.size = size;
            this.useBitmap = useBitmap;
            this.note = note;
        }
    }

    private final QmpClient qmp;
    private final Path runDir;
    private final String qemuImg;
    private final List<Member> members;

    QemuBackup(QmpClient qmp, Path runDir, String qemuImg, List<Member> members) {
        this.qmp = qmp;
        this.runDir = runDir;
        this.qemuImg = qemuImg;
        this.members = List.copyOf(members);
        if (this.members.isEmpty()) {
            throw new IllegalArgumentException("no disks to back up");
        }
    }

    private Path fleeceFile(Member m) {
        return runDir.resolve("fleece-" + m.tag() + ".qcow2");
    }

    private Path socket() {
        String tag = members.get(0).tag();
        return runDir.resolve("b" + tag.substring(0, Math.min(7, tag.length())));
    }

    List<BackupIndex> run() throws Exception {
        cleanUp();
        var plans = new ArrayList<Plan>();
        for (Member m : members) {
            JsonNode nodeInfo = namedNode(m.node());
            if (nodeInfo == null) {
                throw new IOException("the guest has no disk node " + m.node());
            }
            JsonNode parentBitmap = m.parent() == null ? null : bitmap(nodeInfo, m.parent());
            if (bitmap(nodeInfo, m.mine()) != null) {
                // an earlier attempt got as far as the transaction: give its changes back to the parent
                giveBack(m, parentBitmap != null);
                nodeInfo = namedNode(m.node());
                parentBitmap = m.parent() == null ? null : bitmap(nodeInfo, m.parent());
            }
            String note = null;
            boolean useBitmap = parentBitmap != null && !parentBitmap.path("inconsistent").asBoolean(false);
            if (m.parent() != null && !useBitmap) {
                String p = m.task().parentId();
                note = parentBitmap == null ? "no dirty bitmap since backup " + p + " on the volume: compared chunk hashes instead"
                        : "the dirty bitmap since backup " + p + " is inconsistent: compared chunk hashes instead";
            }
            plans.add(new Plan(m, nodeInfo.path("image").path("virtual-size").asLong(), useBitmap, note));
        }
        boolean transacted = false;
        boolean ok = false;
        var out = new ArrayList<BackupIndex>();
        try {
            var tx = QmpClient.args();
            ArrayNode actions = tx.putArray("actions");
            for (Plan p : plans) {
                Member m = p.m;
                exec(List.of(qemuImg, "create", "-q", "-f", "qcow2", fleeceFile(m).toString(), Long.toString(p.size)));
                var add = QmpClient.args();
                add.put("driver", "qcow2");
                add.put("node-name", m.fleece());
                add.putObject("file").put("driver", "file").put("filename", fleeceFile(m).toString());
                add.put("backing", m.node());
                qmp.execute("blockdev-add", add, T);
                ObjectNode bk = actions.addObject().put("type", "blockdev-backup").putObject("data");
                bk.put("device", m.node()).put("target", m.fleece()).put("sync", "none").put("job-id", m.job());
                actions.addObject().put("type", "block-dirty-bitmap-add").putObject("data").put("node", m.node()).put("name", m.mine())
                        .put("persistent", true);
                if (p.useBitmap) {
                    actions.addObject().put("type", "block-dirty-bitmap-disable").putObject("data").put("node", m.node())
                            .put("name", m.parent());
                }
            }
            qmp.execute("transaction", tx, T);
            transacted = true;
            try {
                qmp.execute("nbd-server-stop", null, T);
            } catch (QmpClient.QmpException e) {
                // none was running
            }
            var srv = QmpClient.args();
            srv.putObject("addr").put("type", "unix").putObject("data").put("path", socket().toString());
            qmp.execute("nbd-server-start", srv, T);
            for (Plan p : plans) {
                var exp = QmpClient.args();
                exp.put("type", "nbd").put("id", p.m.export()).put("node-name", p.m.fleece()).put("name", p.m.export()).put("writable", false);
                if (p.useBitmap) {
                    exp.putArray("bitmaps").add(p.m.parent());
                }
                qmp.execute("block-export-add", exp, T);
            }

            for (Plan p : plans) {
                out.add(read(p));
            }
            ok = true;
            return out;
        } finally {
            cleanUp();
            if (!ok) {
                dropWritten(out);
            }
            for (Plan p : plans) {
                if (transacted && !ok) {
                    giveBack(p.m, p.useBitmap);
                } else if (ok && p.useBitmap) {
                    removeBitmap(p.m.node(), p.m.parent());
                }
            }
        }
    }

    /** All or none: the indexes of the disks read before one failed go. */
    private void dropWritten(List<BackupIndex> written) {
        for (BackupIndex i : written) {
            BackupTask task = members.get(0).task();
            try (Repository repo = Repository.open(Path.of(task.repository()), task.key() == null ? null : Keys.fromBase64(task.key()))) {
                repo.deleteIndex(i.id());
            } catch (RuntimeException e) {
                log.warn("event=backup_index_not_removed backup_id={} error=\"{}\"", i.id(), e.getMessage());
            }
        }
    }

    private BackupIndex read(Plan p) throws IOException {
        BackupTask task = p.m.task();
        Keys keys = task.key() == null ? null : Keys.fromBase64(task.key());
        try (Repository repo = Repository.open(Path.of(task.repository()), keys)) {
            BackupIndex parentIndex = task.parentId() != null && repo.hasIndex(task.parentId()) ? repo.readIndex(task.parentId()) : null;
            String bitmapName = p.useBitmap ? p.m.parent() : null;
            String name = p.m.export();
            NbdClient first = NbdClient.connect(socket(), name, NbdSource.contexts(bitmapName));
            try (var src = new NbdSource(first, bitmapName, null, () -> NbdClient.connect(socket(), name, List.of()))) {
                return new BackupRunner(repo, Math.max(1, task.threads())).run(src, new BackupRunner.Request(task.backupId(),
                        task.volumeId(), Map.of(), parentIndex, p.note, null));
            }
        }
    }

    /** Merges the member's new bitmap into its parent's (and lets that record again), then drops the new one. */
    private void giveBack(Member m, boolean toParent) throws IOException {
        if (toParent && m.parent() != null) {
            var merge = QmpClient.args().put("node", m.node()).put("target", m.parent());
            merge.putArray("bitmaps").add(m.mine());
            qmp.execute("block-dirty-bitmap-merge", merge, T);
            qmp.execute("block-dirty-bitmap-enable", QmpClient.args().put("node", m.node()).put("name", m.parent()), T);
        }
        removeBitmap(m.node(), m.mine());
    }

    private void removeBitmap(String node, String name) {
        try {
            qmp.execute("block-dirty-bitmap-remove", QmpClient.args().put("node", node).put("name", name), T);
        } catch (IOException e) {
            log.warn("event=backup_bitmap_not_removed node={} bitmap={} error=\"{}\"", node, name, e.getMessage());
        }
    }

    /** Removes the exports, jobs and fleeces of these backups if they are there; waits for each to be gone. */
    private void cleanUp() throws Exception {
        for (Member m : members) {
            quietly("block-export-del", QmpClient.args().put("id", m.export()).put("mode", "hard"));
            waitUntil(() -> !contains(qmp.execute("query-block-exports", null, T), "id", m.export()));
        }
        for (Member m : members) {
            quietly("block-job-cancel", QmpClient.args().put("device", m.job()).put("force", true));
            waitUntil(() -> !contains(qmp.execute("query-block-jobs", null, T), "device", m.job()));
            quietly("blockdev-del", QmpClient.args().put("node-name", m.fleece()));
        }
        quietly("nbd-server-stop", null);
        for (Member m : members) {
            Files.deleteIfExists(fleeceFile(m));
        }
        Files.deleteIfExists(socket());
    }

    private void quietly(String cmd, ObjectNode args) {
        try {
            qmp.execute(cmd, args, T);
        } catch (IOException e) {
            // not there: nothing to undo
        }
    }

    interface Check {
        boolean ok() throws IOException;
    }

    private static void waitUntil(Check c) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!c.ok()) {
            if (System.nanoTime() > deadline) {
                throw new IOException("QEMU did not finish cleaning up a backup in 30 s");
            }
            Thread.sleep(50);
        }
    }

    private static boolean contains(JsonNode list, String field, String value) {
        for (JsonNode n : list) {
            if (value.equals(n.path(field).asText())) {
                return true;
            }
        }
        return false;
    }

    private JsonNode namedNode(String name) throws IOException {
        for (JsonNode n : qmp.execute("query-named-block-nodes", QmpClient.args().put("flat", true), T)) {
            if (name.equals(n.path("node-name").asText())) {
                return n;
            }
        }
        return null;
    }

    private static JsonNode bitmap(JsonNode nodeInfo, String name) {
        for (JsonNode b : nodeInfo.path("dirty-bitmaps")) {
            if (name.equals(b.path("name").asText())) {
                return b;
            }
        }
        return null;
    }

    private static void exec(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(cmd)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + ": " + out.strip());
        }
    }
}
