package io.halcyon.cli;

import io.halcyon.agent.AgentMain;
import io.halcyon.config.ConfigException;
import io.halcyon.config.ConfigLoader;
import io.halcyon.controller.ControllerMain;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** The {@code halcyon} command. */
@Command(name = "halcyon", mixinStandardHelpOptions = true, version = "halcyon 0.1.0",
        description = "A private IaaS cloud for KVM/QEMU that speaks the OpenStack APIs.",
        subcommands = {Main.Serve.class, Main.StoreCommand.class, Main.ClusterCommand.class, HostCommands.HostCommand.class,
                HostCommands.HaCommand.class, RepoCommands.RepoCommand.class, ServerBackupCommands.ServerBackupCommand.class,
                TestCephCommands.TestCephCommand.class})
public final class Main implements Callable<Integer> {
    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("halcyon: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            return 1;
        }).execute(args));
    }

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }

    @Command(name = "serve", description = "Run what the configuration file describes: a controller, an agent, or both.")
    static final class Serve implements Callable<Integer> {
        @Option(names = {"-c", "--config"}, required = true, description = "YAML configuration file")
        Path config;

        @Override
        public Integer call() throws Exception {
            HalcyonConfig cfg;
            try {
                cfg = ConfigLoader.load(config, HalcyonConfig.class);
                if (cfg.controller() == null && cfg.agent() == null) {
                    throw new ConfigException(config + ": needs a 'controller' section, an 'agent' section, or both");
                }
                if (cfg.controller() != null) {
                    cfg.controller().validate();
                }
                if (cfg.agent() != null) {
                    cfg.agent().validate();
                }
            } catch (ConfigException e) {
                System.err.println("halcyon: " + e.getMessage());
                return 2;
            }
            ControllerMain controller = cfg.controller() == null ? null : ControllerMain.start(cfg.controller());
            AgentMain agent = cfg.agent() == null ? null : AgentMain.start(cfg.agent());
            var done = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                if (agent != null) {
                    agent.close();
                }
                if (controller != null) {
                    controller.close();
                }
                done.countDown();
            }, "shutdown"));
            done.await();
            return 0;
        }
    }

    @Command(name = "cluster", description = "The cloud's control plane.", subcommands = {ClusterStatus.class})
    static final class ClusterCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            new CommandLine(this).usage(System.out);
            return 2;
        }
    }

    @Command(name = "store", description = "Work on a cloud's store.", subcommands = {Migrate.class})
    static final class StoreCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            new CommandLine(this).usage(System.out);
            return 2;
        }
    }

    @Command(name = "migrate", description = "Copy a stopped cloud's state into another store, and verify the copy.")
    static final class Migrate implements Callable<Integer> {
        @Option(names = "--from", required = true, description = "sqlite:PATH (the controller's halcyon.db)")
        String from;

        @Option(names = "--to", required = true, description = "etcd://HOST:PORT[,HOST:PORT...]")
        String to;

        @Option(names = "--force", description = "replace what the target already holds")
        boolean force;

        @Override
        public Integer call() {
            if (!from.startsWith("sqlite:")) {
                System.err.println("halcyon: --from must be sqlite:PATH, not " + from);
                return 2;
            }
            if (!to.startsWith("etcd://") || to.length() <= "etcd://".length()) {
                System.err.println("halcyon: --to must be etcd://HOST:PORT[,HOST:PORT...], not " + to);
                return 2;
            }
            Path db = Path.of(from.substring("sqlite:".length()));
            if (!java.nio.file.Files.isRegularFile(db)) {
                System.err.println("halcyon: there is no store at " + db);
                return 2;
            }
            var endpoints = new java.util.ArrayList<String>();
            for (String hp : to.substring("etcd://".length()).split(",")) {
                if (!hp.matches("[^:/]+:\\d{1,5}")) {
                    System.err.println("halcyon: '" + hp + "' in --to is not HOST:PORT");
                    return 2;
                }
                endpoints.add("http://" + hp);
            }
            io.halcyon.store.Store source;
            try {
                source = io.halcyon.store.sqlite.SqliteStore.open(db);
            } catch (io.halcyon.store.StoreLockedException e) {
                System.err.println("halcyon: " + db + " is in use; stop the cloud (./halcyon down) before migrating its store");
                return 1;
            }
            try (var closeSource = (AutoCloseable) source::close) {
                io.halcyon.store.Store target = io.halcyon.store.etcd.EtcdStore.connect(endpoints, java.time.Duration.ofSeconds(10));
                try {
                    var report = io.halcyon.store.StoreCopy.copy(source, target, "/halcyon/", force);
                    System.out.printf("copied %d keys (%d bytes of records) from %s to %s; verified: same keys and values, sha256 %s%n",
                            report.keys(), report.bytes(), db, String.join(",", endpoints), report.sha256());
                    return 0;
                } finally {
                    target.close();
                }
            } catch (io.halcyon.store.StoreException e) {
                System.err.println("halcyon: " + e.getMessage());
                return 1;
            } catch (Exception e) {
                System.err.println("halcyon: " + e);
                return 1;
            }
        }
    }
}
