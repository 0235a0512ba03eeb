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
 * A backup of a running guest's disk through its QEMU (pull mode, as libvirt does it):
 * <ol>
 *   <li>a temporary qcow2 overlay of the disk ("fleece") and, in one QMP transaction, a
 *   {@code blockdev-backup sync=none} into it (from then on QEMU copies every block the guest
 *   overwrites into the fleece first, so the fleece reads as the disk at that instant), a new
 *   persistent dirty bitmap for the next backup, and the parent's bitmap frozen;</li>
 *   <li>the fleece exported over NBD on a UNIX socket, with the parent's bitmap, and read by
 *   {@link BackupRunner} as any other volume;</li>
 *   <li>everything removed again; the parent's bitmap is dropped on success, and on failure the
 *   new one is merged back into it so no change is ever forgotten.</li>
 * </ol>
 * Leftovers of an attempt cut short (an agent killed mid-way) are removed before the next one.
 */
final class QemuBackup {
    private static final Logger log = LoggerFactory.getLogger(QemuBackup.class);
    private static final Duration T = Duration.ofSeconds(30);
    static final String BITMAP_PREFIX = "halcyon-";

    private final QmpClient qmp;
    private final Path runDir;
    private final String qemuImg;
    private final String node;
    private final BackupTask task;
    private final String tag;

    QemuBackup(QmpClient qmp, Path runDir, String qemuImg, String node, BackupTask task) {
        this.qmp = qmp;
        this.runDir = runDir;
        this.qemuImg = qemuImg;
        this.node = node;
        this.task = task;
        this.tag = task.backupId().replaceAll("[^A-Za-z0-9]", "").substring(0, Math.min(8, task.backupId().replaceAll("[^A-Za-z0-9]", "").length()));
    }

    private String fleece() {
        return "hfleece" + tag;
    }

    private String job() {
        return "hjob" + tag;
    }

    private String export() {
        return "hexp" + tag;
    }

    private Path fleeceFile() {
        return runDir.resolve("fleece-" + tag + ".qcow2");
    }

    private Path socket() {
        return runDir.resolve("b" + tag.substring(0, Math.min(7, tag.length())));
    }

    BackupIndex run() throws Exception {
        cleanUp();
        JsonNode nodeInfo = namedNode(node);
        if (nodeInfo == null) {
            throw new IOException("the guest has no disk node " + node);
        }
        long size = nodeInfo.path("image").path("virtual-size").asLong();
        String mine = BITMAP_PREFIX + task.backupId();
        String parent = task.parentId() == null ? null : BITMAP_PREFIX + task.parentId();
        JsonNode parentBitmap = parent == null ? null : bitmap(nodeInfo, parent);
        if (bitmap(nodeInfo, mine) != null) {
            // an earlier attempt got as far as the transaction: give its changes back to the parent
            giveBack(mine, parentBitmap != null ? parent : null);
            nodeInfo = namedNode(node);
            parentBitmap = parent == null ? null : bitmap(nodeInfo, parent);
        }
        String note = null;
        boolean useBitmap = parentBitmap != null && !parentBitmap.path("inconsistent").asBoolean(false);
        if (parent != null && !useBitmap) {
            note = parentBitmap == null ? "no dirty bitmap since backup " + task.parentId() + " on the volume: compared chunk hashes instead"
                    : "the dirty bitmap since backup " + task.parentId() + " is inconsistent: compared chunk hashes instead";
        }
        exec(List.of(qemuImg, "create", "-q", "-f", "qcow2", fleeceFile().toString(), Long.toString(size)));
        var add = QmpClient.args();
        add.put("driver", "qcow2");
        add.put("node-name", fleece());
        add.putObject("file").put("driver", "file").put("filename", fleeceFile().toString());
        add.put("backing", node);
        qmp.execute("blockdev-add", add, T);
        boolean transacted = false;
        boolean ok = false;
        try {
            var tx = QmpClient.args();
            ArrayNode actions = tx.putArray("actions");
            ObjectNode bk = actions.addObject().put("type", "blockdev-backup").putObject("data");
            bk.put("device", node).put("target", fleece()).put("sync", "none").put("job-id", job());
            actions.addObject().put("type", "block-dirty-bitmap-add").putObject("data").put("node", node).put("name", mine).put("persistent", true);
            if (useBitmap) {
                actions.addObject().put("type", "block-dirty-bitmap-disable").putObject("data").put("node", node).put("name", parent);
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
            var exp = QmpClient.args();
            exp.put("type", "nbd").put("id", export()).put("node-name", fleece()).put("name", "halcyon").put("writable", false);
            if (useBitmap) {
                exp.putArray("bitmaps").add(parent);
            }
            qmp.execute("block-export-add", exp, T);

            Keys keys = task.key() == null ? null : Keys.fromBase64(task.key());
            try (Repository repo = Repository.open(Path.of(task.repository()), keys)) {
                BackupIndex parentIndex = task.parentId() != null && repo.hasIndex(task.parentId()) ? repo.readIndex(task.parentId()) : null;
                String bitmapName = useBitmap ? parent : null;
                NbdClient first = NbdClient.connect(socket(), "halcyon", NbdSource.contexts(bitmapName));
                try (var src = new NbdSource(first, bitmapName, null, () -> NbdClient.connect(socket(), "halcyon", List.of()))) {
                    BackupIndex index = new BackupRunner(repo, Math.max(1, task.threads())).run(src, new BackupRunner.Request(task.backupId(),
                            task.volumeId(), Map.of(), parentIndex, note, null));
                    ok = true;
                    return index;
                }
            }
        } finally {
            cleanUp();
            if (transacted && !ok) {
                giveBack(mine, useBitmap ? parent : null);
            } else if (ok && useBitmap) {
                removeBitmap(parent);
            }
        }
    }

    /** Merges {@code mine} into {@code parent} (and lets it record again), then drops {@code mine}. */
    private void giveBack(String mine, String parent) throws IOException {
        if (parent != null) {
            var m = QmpClient.args().put("node", node).put("target", parent);
            m.putArray("bitmaps").add(mine);
            qmp.execute("block-dirty-bitmap-merge", m, T);
            qmp.execute("block-dirty-bitmap-enable", QmpClient.args().put("node", node).put("name", parent), T);
        }
        removeBitmap(mine);
    }

    private void removeBitmap(String name) {
        try {
            qmp.execute("block-dirty-bitmap-remove", QmpClient.args().put("node", node).put("name", name), T);
        } catch (IOException e) {
            log.warn("event=backup_bitmap_not_removed node={} bitmap={} error=\"{}\"", node, name, e.getMessage());
        }
    }

    /** Removes this backup's export, job and fleece if they are there; waits for each to be gone. */
    private void cleanUp() throws Exception {
        quietly("block-export-del", QmpClient.args().put("id", export()).put("mode", "hard"));
        waitUntil(() -> !contains(qmp.execute("query-block-exports", null, T), "id", export()));
        quietly("block-job-cancel", QmpClient.args().put("device", job()).put("force", true));
        waitUntil(() -> !contains(qmp.execute("query-block-jobs", null, T), "device", job()));
        quietly("blockdev-del", QmpClient.args().put("node-name", fleece()));
        quietly("nbd-server-stop", null);
        Files.deleteIfExists(fleeceFile());
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
