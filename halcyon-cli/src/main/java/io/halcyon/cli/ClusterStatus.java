package io.halcyon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code halcyon cluster status}: every controller (up, leader, pid, version), every etcd member
 * (healthy, leader, database size, revision) and every agent (lease), with a non-zero exit when
 * anything is unhealthy. Credentials come from the usual OS_* variables (admin-openrc.sh).
 */
@Command(name = "status", description = "Show the health of controllers, etcd members and agents; exit 1 when anything is unhealthy.")
final class ClusterStatus implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--controllers", split = ",", description = "controller URLs (default: from OS_AUTH_URL)")
    List<String> controllers;

    @Option(names = "--etcd", split = ",", description = "etcd client URLs, when the cloud runs on etcd")
    List<String> etcd;

    @Option(names = "--format", defaultValue = "table", description = "table or json")
    String format;

    private final HttpClient http = AdminApi.client(Duration.ofSeconds(2));

    private JsonNode get(String url, String token) {
        var b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
        if (token != null) {
            b.header("X-Auth-Token", token);
        }
        return send(b.build());
    }

    private JsonNode post(String url, String body) {
        return send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** The JSON of a 200 answer; null for anything else, which the status reports as down. */
    private JsonNode send(HttpRequest req) {
        try {
            var r = http.send(req, HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private String token(String authUrl) throws IOException, InterruptedException {
        String user = System.getenv("OS_USERNAME");
        String password = System.getenv("OS_PASSWORD");
        String project = System.getenv("OS_PROJECT_NAME");
        if (user == null || password == null || project == null) {
            return null;
        }
        var body = Map.of("auth", Map.of("identity", Map.of("methods", List.of("password"), "password", Map.of("user", Map.of("name", user,
                "domain", Map.of("id", "default"), "password", password))), "scope", Map.of("project", Map.of("name", project, "domain",
                Map.of("id", "default")))));
        var r = http.send(HttpRequest.newBuilder(URI.create(authUrl + "/auth/tokens")).timeout(Duration.ofSeconds(5))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode() == 201 ? r.headers().firstValue("X-Subject-Token").orElse(null) : null;
    }

    @Override
    public Integer call() throws Exception {
        if (!format.equals("table") && !format.equals("json")) {
            System.err.println("halcyon: --format must be table or json, not " + format);
            return 2;
        }
        if (controllers == null || controllers.isEmpty()) {
            String auth = System.getenv("OS_AUTH_URL");
            if (auth == null) {
                System.err.println("halcyon: name the controllers with --controllers, or source admin-openrc.sh");
                return 2;
            }
            controllers = List.of(auth.replaceAll("/identity/v3/?$", ""));
        }
        var problems = new ArrayList<String>();
        ObjectNode out = JSON.createObjectNode();
        ArrayNode cs = out.putArray("controllers");
        int leaders = 0;
        String reachable = null;
        for (String c : controllers) {
            String base = c.replaceAll("/+$", "");
            JsonNode h = get(base + "/halcyon/v1/health", null);
            ObjectNode n = cs.addObject();
            n.put("endpoint", base);
            n.put("up", h != null);
            if (h == null) {
                problems.add("controller " + base + " does not answer");
                continue;
            }
            reachable = reachable == null ? base : reachable;
            n.put("leader", h.path("leader").asBoolean());
            n.set("pid", h.get("pid"));
            n.set("version", h.get("version"));
            n.set("revision", h.get("revision"));
            n.set("store", h.get("store"));
            n.set("startedAt", h.get("startedAt"));
            leaders += h.path("leader").asBoolean() ? 1 : 0;
        }
        if (reachable != null && leaders != 1) {
            problems.add(leaders == 0 ? "no controller leads (reconcilers are paused)" : leaders + " controllers say they lead");
        }
        ArrayNode es = out.putArray("etcd");
        if (etcd != null) {
            int etcdLeaders = 0;
            for (String e : etcd) {
                String base = e.replaceAll("/+$", "");
                ObjectNode n = es.addObject();
                n.put("endpoint", base);
                JsonNode health = get(base + "/health", null);
                boolean healthy = health != null && "true".equals(health.path("health").asText());
                n.put("healthy", healthy);
                JsonNode st = post(base + "/v3/maintenance/status", "{}");
                if (st != null) {
                    boolean leader = st.path("leader").asText().equals(st.path("header").path("member_id").asText());
                    n.put("leader", leader);
                    n.put("dbSizeBytes", st.path("dbSize").asLong());
                    n.put("revision", st.path("header").path("revision").asLong());
                    n.put("version", st.path("version").asText());
                    etcdLeaders += leader ? 1 : 0;
                }
                if (!healthy) {
                    problems.add("etcd member " + base + " is not healthy");
                }
            }
            if (etcdLeaders == 0) {
                problems.add("etcd has no leader (no quorum)");
            }
        }
        ArrayNode as = out.putArray("agents");
        if (reachable != null) {
            String tok = token(reachable + "/identity/v3");
            JsonNode cluster = tok == null ? null : get(reachable + "/halcyon/v1/cluster", tok);
            if (cluster == null) {
                problems.add("cannot list agents: give admin credentials (source admin-openrc.sh)");
            } else {
                for (JsonNode h : cluster.path("hosts")) {
                    as.add(h);
                    if (h.path("enabled").asBoolean() && !h.path("up").asBoolean()) {
                        problems.add("agent " + h.path("name").asText() + " holds no lease (host down?)");
                    }
                }
            }
        }
        out.put("healthy", problems.isEmpty());
        ArrayNode ps = out.putArray("problems");
        problems.forEach(ps::add);
        if (format.equals("json")) {
            System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        } else {
            System.out.println("controllers");
            for (JsonNode n : cs) {
                System.out.printf("  %-28s %-5s %-7s pid %-8s version %-6s revision %s%n", n.path("endpoint").asText(),
                        n.path("up").asBoolean() ? "up" : "DOWN", n.path("leader").asBoolean() ? "leader" : "",
                        n.path("pid").asText("-"), n.path("version").asText("-"), n.path("revision").asText("-"));
            }
            if (!es.isEmpty()) {
                System.out.println("etcd");
                for (JsonNode n : es) {
                    System.out.printf("  %-28s %-9s %-7s db %.1f MiB  revision %s  version %s%n", n.path("endpoint").asText(),
                            n.path("healthy").asBoolean() ? "healthy" : "UNHEALTHY", n.path("leader").asBoolean() ? "leader" : "",
                            n.path("dbSizeBytes").asLong() / 1048576.0, n.path("revision").asText("-"), n.path("version").asText("-"));
                }
            }
            System.out.println("agents");
            for (JsonNode n : as) {
                System.out.printf("  %-20s %-5s %s%n", n.path("name").asText(), n.path("up").asBoolean() ? "up" : "DOWN",
                        n.path("up").asBoolean() ? "lease held " + n.path("leaseAgeSeconds").asText() + " s" : "no lease");
            }
            System.out.println(problems.isEmpty() ? "status: healthy" : "status: UNHEALTHY: " + String.join("; ", problems));
        }
        return problems.isEmpty() ? 0 : 1;
    }
}
