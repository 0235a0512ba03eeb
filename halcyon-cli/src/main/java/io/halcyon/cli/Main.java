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
        subcommands = {Main.Serve.class})
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
}
