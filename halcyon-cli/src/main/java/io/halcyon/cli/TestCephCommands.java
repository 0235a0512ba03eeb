package io.halcyon.cli;

import io.halcyon.testkit.TestCeph;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code halcyon test-ceph start|stop DIR}: the test kit's throw-away Ceph (one MON, a memstore
 * OSD, no manager, cephx off) for an all-in-one cloud to try volumes on Ceph with
 * ({@code ./halcyon up --ceph}). Not for data anyone needs: the OSD holds it in memory, and
 * writes it to {@code DIR} only on a clean stop.
 */
final class TestCephCommands {
    private TestCephCommands() {
    }

    @Command(name = "test-ceph", description = "A throw-away local Ceph for trying the rbd backend (./halcyon up --ceph).",
            subcommands = {Start.class, Stop.class})
    static final class TestCephCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            new CommandLine(this).usage(System.out);
            return 2;
        }
    }

    @Command(name = "start", description = "Start the cluster in DIR (made on first use) and print its ceph.conf.")
    static final class Start implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR")
        Path dir;

        @Option(names = "--address", description = "the address it listens on when first made (default 127.0.0.1)")
        String address = "127.0.0.1";

        @Option(names = "--size-gb", description = "the OSD's capacity when first made, held in memory as it fills (default 8)")
        int sizeGb = 8;

        @Override
        public Integer call() {
            if (sizeGb < 1 || sizeGb > 64) {
                throw new IllegalArgumentException("--size-gb must be from 1 to 64");
            }
            var ceph = TestCeph.startOrResume(dir, address, (long) sizeGb << 30);
            ceph.detach();
            System.out.println(ceph.conf());
            return 0;
        }
    }

    @Command(name = "stop", description = "Stop the cluster in DIR cleanly (its data is kept in DIR).")
    static final class Stop implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "DIR")
        Path dir;

        @Override
        public Integer call() {
            TestCeph.stop(dir);
            return 0;
        }
    }
}
