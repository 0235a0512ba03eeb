package io.halcyon.store.etcd;

import io.halcyon.store.Store;
import io.halcyon.store.StoreContractTest;
import io.halcyon.testkit.EtcdProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** The contract suite against a real etcd (Debian's etcd-server) on loopback. */
class EtcdStoreContractIT extends StoreContractTest {
    private static Path dir;
    private static EtcdProcess etcd;
    private static EtcdStore shared;

    @BeforeAll
    static void startEtcd() throws IOException {
        dir = Files.createTempDirectory("halcyon-etcd-it");
        etcd = EtcdProcess.start(dir);
        shared = EtcdStore.connect(List.of(etcd.endpoint()), Duration.ofSeconds(10));
    }

    @AfterAll
    static void stopEtcd() {
        if (shared != null) {
            shared.close();
        }
        if (etcd != null) {
            etcd.close();
        }
        io.halcyon.testkit.Files2.deleteTree(dir);
    }

    @Override
    protected Store store() {
        return shared;
    }

    @Override
    protected boolean shared() {
        return true;
    }
}
