package io.halcyon.store.sqlite;

import io.halcyon.store.Store;
import io.halcyon.store.StoreContractTest;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

class SqliteStoreContractTest extends StoreContractTest {
    @TempDir
    Path dir;

    @Override
    protected Store store() {
        return SqliteStore.open(dir.resolve("halcyon.db"), 0);
    }
}
