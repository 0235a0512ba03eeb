package io.halcyon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.Console;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code halcyon host ...} and {@code halcyon ha ...}: the operators' view and switches of
 * instance HA (host states and their history, maintenance, disarming, BMC credentials).
 */
final class HostCommands {
    private HostCommands() {
    }

    abstract static class Base implements Callable<Integer> {
        @Option(names = "--controller", description = "controller URL (default: from OS_AUTH_URL)")
        String controller;

        @Option(names = "--format", defaultValue = "table", description = "table or json")
        String format;

        abstract JsonNode run(AdminApi api) throws Exception;

        abstract void table(JsonNode result);

        @Override
        public Integer call() throws Exception {
            if (!format.equals("table") && !format.equals("json")) {
                System.err.println("halcyon: --format must be table or json, not " + format);
                return 2;
            }
            try {
                JsonNode r = run(new AdminApi(controller));
                if (format.equals("json")) {
                    System.out.println(AdminApi.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r));
                } else {
                    table(r);
                }
                return 0;
            } catch (AdminApi.Failure e) {
                System.err.println("halcyon: " + e.getMessage());
                return 1;
            }
        }

        static void fields(JsonNode n) {
            n.fields().forEachRemaining(e -> System.out.printf("%-22s %s%n", e.getKey(), e.getValue().isTextual() ? e.getValue().asText()
                    : e.getValue().toString()));
        }
    }

    abstract static class OnHost extends Base {
        @Parameters(index = "0", paramLabel = "HOST", description = "the host's name")
        String host;

        @Override
        void table(JsonNode result) {
            fields(result.path("host"));
        }
    }

    @Command(name = "host", description = "Hosts as HA sees them: states, history, maintenance, HA switch, BMC.",
            subcommands = {HostList.class, HostShow.class, HostEvents.class, HostMaintenance.class, HostHa.class, HostBmc.class})
    static final class HostCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            new CommandLine(this).usage(System.out);
            return 2;
        }
    }

    @Command(name = "list", description = "Every host with its HA state and how it can be fenced.")
    static final class HostList extends Base {
        JsonNode run(AdminApi api) throws Exception {
            return api.call("GET", "/halcyon/v1/hosts", null);
        }

        void table(JsonNode r) {
            System.out.printf("%-16s %-12s %-8s %-11s %-20s %s%n", "NAME", "STATE", "LEASE", "MAINT", "FENCING", "REASON");
            for (JsonNode h : r.path("hosts")) {
                System.out.printf("%-16s %-12s %-8s %-11s %-20s %s%n", h.path("name").asText(), h.path("state").asText(), h.path("lease").asText(),
                        h.path("maintenance").asBoolean() ? "on" : "off", h.path("fencing").asText(), h.path("reason").asText());
            }
        }
    }

    @Command(name = "show", description = "One host: HA state, since when and why, fencing, watchdog, BMC (never its password).")
    static final class HostShow extends OnHost {
        JsonNode run(AdminApi api) throws Exception {
            return api.call("GET", "/halcyon/v1/hosts/" + host, null);
        }
    }

    @Command(name = "events", description = "The host's HA history: every state change and fencing step with its evidence.")
    static final class HostEvents extends OnHost {
        JsonNode run(AdminApi api) throws Exception {
            return api.call("GET", "/halcyon/v1/hosts/" + host + "/events", null);
        }

        @Override
        void table(JsonNode r) {
            for (JsonNode e : r.path("events")) {
                System.out.printf("%s  %-11s -> %-11s %s%n", e.path("at").asText(), e.path("from").asText(), e.path("to").asText(),
                        e.path("reason").asText());
            }
        }
    }

    @Command(name = "maintenance", description = "halcyon host maintenance on|off HOST. on: no new guests and never fenced; off: back to normal.")
    static final class HostMaintenance extends Base {
        @Parameters(index = "0", paramLabel = "on|off")
        String value;

        @Parameters(index = "1", paramLabel = "HOST")
        String host;

        JsonNode run(AdminApi api) throws Exception {
            return api.call("PUT", "/halcyon/v1/hosts/" + host + "/maintenance", Map.of("enabled", onOff(value)));
        }

        void table(JsonNode r) {
            fields(r.path("host"));
        }
    }

    @Command(name = "ha", description = "halcyon host ha disarm|arm HOST. disarm: this host is neither fenced nor self-fences (a "
            + "maintenance window); arm: back to normal.")
    static final class HostHa extends Base {
        @Parameters(index = "0", paramLabel = "arm|disarm")
        String value;

        @Parameters(index = "1", paramLabel = "HOST")
        String host;

        JsonNode run(AdminApi api) throws Exception {
            return api.call("PUT", "/halcyon/v1/hosts/" + host + "/ha", Map.of("disarmed", armDisarm(value)));
        }

        void table(JsonNode r) {
            fields(r.path("host"));
        }
    }

    @Command(name = "bmc", description = "Set (address, port, user; the password is read from the terminal or --password-stdin) or "
            + "--unset the host's BMC for IPMI power fencing.")
    static final class HostBmc extends OnHost {
        @Option(names = "--address", description = "the BMC's address")
        String address;

        @Option(names = "--port", defaultValue = "623", description = "IPMI over LAN port (default 623)")
        int port;

        @Option(names = "--username", description = "the BMC user")
        String username;

        @Option(names = "--password-stdin", description = "read the password from standard input")
        boolean passwordStdin;

        @Option(names = "--unset", description = "forget the BMC: the host can then be fenced only by its watchdog")
        boolean unset;

        JsonNode run(AdminApi api) throws Exception {
            if (unset) {
                return api.call("DELETE", "/halcyon/v1/hosts/" + host + "/bmc", null);
            }
            if (address == null || username == null) {
                throw new AdminApi.Failure("--address and --username are required (or --unset)");
            }
            String password;
            if (passwordStdin) {
                password = new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
            } else {
                Console c = System.console();
                if (c == null) {
                    throw new AdminApi.Failure("no terminal to read the password from: use --password-stdin");
                }
                password = new String(c.readPassword("BMC password for %s: ", host));
            }
            var body = new LinkedHashMap<String, Object>();
            body.put("address", address);
            body.put("port", port);
            body.put("username", username);
            body.put("password", password);
            return api.call("PUT", "/halcyon/v1/hosts/" + host + "/bmc", body);
        }
    }

    @Command(name = "ha", description = "Cluster-wide HA: status (settings, alarm), disarm (no fencing, no self-fencing, no recovery: "
            + "a maintenance window) and arm.", subcommands = {HaStatus.class, HaArm.class, HaDisarm.class})
    static final class HaCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            new CommandLine(this).usage(System.out);
            return 2;
        }
    }

    abstract static class HaView extends Base {
        void table(JsonNode r) {
            fields(r.path("ha"));
        }
    }

    @Command(name = "status", description = "HA settings, whether it is disarmed, and the alarm when too many hosts look down at once.")
    static final class HaStatus extends HaView {
        JsonNode run(AdminApi api) throws Exception {
            return api.call("GET", "/halcyon/v1/ha", null);
        }
    }

    @Command(name = "arm", description = "Fencing and recovery back on.")
    static final class HaArm extends HaView {
        JsonNode run(AdminApi api) throws Exception {
            return api.call("PUT", "/halcyon/v1/ha", Map.of("disarmed", false));
        }
    }

    @Command(name = "disarm", description = "No fencing, no self-fencing, no recovery, cluster-wide, until 'halcyon ha arm'.")
    static final class HaDisarm extends HaView {
        JsonNode run(AdminApi api) throws Exception {
            return api.call("PUT", "/halcyon/v1/ha", Map.of("disarmed", true));
        }
    }

    static boolean onOff(String v) {
        return switch (v) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new AdminApi.Failure("expected on or off, not " + v);
        };
    }

    static boolean armDisarm(String v) {
        return switch (v) {
            case "disarm" -> true;
            case "arm" -> false;
            default -> throw new AdminApi.Failure("expected arm or disarm, not " + v);
        };
    }
}
