package io.halcyon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code halcyon server-backup ...}: every volume of a server backed up at one instant, through
 * {@code /halcyon/v1/server-backups} (each volume's backup is also an ordinary Cinder backup).
 */
final class ServerBackupCommands {
    private ServerBackupCommands() {
    }

    @Command(name = "server-backup", description = "Back up every volume of a server at one instant; list, show, restore, delete.",
            subcommands = {Create.class, ListCmd.class, Show.class, Restore.class, Delete.class})
    static final class ServerBackupCommand implements Callable<Integer> {
        @Override
        public Integer call() {
            new CommandLine(this).usage(System.out);
            return 2;
        }
    }

    abstract static class One extends HostCommands.Base {
        @Parameters(index = "0", paramLabel = "ID", description = "the server backup's id")
        String id;
    }

    static void show(JsonNode sb) {
        System.out.printf("%-14s %s%n%-14s %s%n%-14s %s%n%-14s %s%n%-14s %s%n", "id", sb.path("id").asText(), "server_id",
                sb.path("server_id").asText(), "status", sb.path("status").asText(), "is_incremental", sb.path("is_incremental").asBoolean(),
                "created_at", sb.path("created_at").asText());
        System.out.printf("%-10s %-36s %-36s %-12s %-11s %s%n", "DEVICE", "BACKUP", "VOLUME", "STATUS", "MODE", "READ");
        for (JsonNode b : sb.path("backups")) {
            System.out.printf("%-10s %-36s %-36s %-12s %-11s %s%n", b.path("device").asText(), b.path("id").asText(),
                    b.path("volume_id").asText(), b.path("status").asText(), b.path("halcyon:mode").asText("-"),
                    b.has("halcyon:bytes_read") ? b.path("halcyon:bytes_read").asLong() : "-");
        }
    }

    @Command(name = "create", description = "halcyon server-backup create SERVER: a running server needs --force.")
    static final class Create extends HostCommands.Base {
        @Parameters(index = "0", paramLabel = "SERVER", description = "the server's id")
        String server;

        @Option(names = "--incremental", description = "relative to each volume's latest backup")
        boolean incremental;

        @Option(names = "--force", description = "back up a running server (its volumes are in use)")
        boolean force;

        @Option(names = "--name", description = "a name for the server backup")
        String name;

        JsonNode run(AdminApi api) throws Exception {
            var body = new LinkedHashMap<String, Object>();
            body.put("server_id", server);
            body.put("incremental", incremental);
            body.put("force", force);
            if (name != null) {
                body.put("name", name);
            }
            return api.call("POST", "/halcyon/v1/server-backups", Map.of("server_backup", body));
        }

        void table(JsonNode r) {
            show(r.path("server_backup"));
        }
    }

    @Command(name = "list", description = "The project's server backups, newest first.")
    static final class ListCmd extends HostCommands.Base {
        @Option(names = "--server", description = "only this server's")
        String server;

        JsonNode run(AdminApi api) throws Exception {
            return api.call("GET", "/halcyon/v1/server-backups" + (server == null ? ""
                    : "?server_id=" + URLEncoder.encode(server, StandardCharsets.UTF_8)), null);
        }

        void table(JsonNode r) {
            System.out.printf("%-36s %-36s %-10s %-12s %s%n", "ID", "SERVER", "STATUS", "INCREMENTAL", "CREATED");
            for (JsonNode sb : r.path("server_backups")) {
                System.out.printf("%-36s %-36s %-10s %-12s %s%n", sb.path("id").asText(), sb.path("server_id").asText(),
                        sb.path("status").asText(), sb.path("is_incremental").asBoolean(), sb.path("created_at").asText());
            }
        }
    }

    @Command(name = "show", description = "One server backup and the backup of each of its volumes.")
    static final class Show extends One {
        JsonNode run(AdminApi api) throws Exception {
            return api.call("GET", "/halcyon/v1/server-backups/" + id, null);
        }

        void table(JsonNode r) {
            show(r.path("server_backup"));
        }
    }

    @Command(name = "restore", description = "Restores each volume's backup into a new volume and prints which is which.")
    static final class Restore extends One {
        @Option(names = "--name", description = "the new volumes' name prefix")
        String name;

        JsonNode run(AdminApi api) throws Exception {
            return api.call("POST", "/halcyon/v1/server-backups/" + id + "/restore", name == null ? null : Map.of("restore", Map.of("name", name)));
        }

        void table(JsonNode r) {
            System.out.printf("%-10s %-36s %s%n", "DEVICE", "VOLUME", "NAME");
            for (JsonNode v : r.path("restore").path("volumes")) {
                System.out.printf("%-10s %-36s %s%n", v.path("device").asText(), v.path("volume_id").asText(), v.path("volume_name").asText());
            }
        }
    }

    @Command(name = "delete", description = "Deletes the backup of every volume (refused while incrementals depend on one).")
    static final class Delete extends One {
        JsonNode run(AdminApi api) throws Exception {
            return api.call("DELETE", "/halcyon/v1/server-backups/" + id, null);
        }

        void table(JsonNode r) {
            System.out.println("deleting server backup " + id);
        }
    }
}
