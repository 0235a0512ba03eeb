package io.halcyon.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Debian's real {@code openstack} CLI (python3-openstackclient), run as a user would run it. */
public final class OpenStackCli {
    private final Map<String, String> env;

    public OpenStackCli(String authUrl, String user, String password, String project) {
        this(authUrl, user, password, project, null);
    }

    /** @param caCert the CA file that the cloud's certificate chains to (OS_CACERT); null for plain HTTP or the system's CAs */
    public OpenStackCli(String authUrl, String user, String password, String project, String caCert) {
        Binaries.require("openstack", "python3-openstackclient");
        env = new HashMap<>();
        env.put("OS_AUTH_URL", authUrl);
        env.put("OS_USERNAME", user);
        env.put("OS_PASSWORD", password);
        env.put("OS_PROJECT_NAME", project);
        env.put("OS_USER_DOMAIN_NAME", "Default");
        env.put("OS_PROJECT_DOMAIN_NAME", "Default");
        env.put("OS_IDENTITY_API_VERSION", "3");
        env.put("OS_REGION_NAME", "RegionOne");
        env.put("OS_INTERFACE", "public");
        if (caCert != null) {
            env.put("OS_CACERT", caCert);
        }
    }

    /** The cloud's administrator as {@code ./halcyon up} writes it into admin-openrc.sh (URL, password, CA). */
    public static OpenStackCli fromOpenrc(java.nio.file.Path openrc) {
        try {
            String text = java.nio.file.Files.readString(openrc);
            return new OpenStackCli(value(text, "OS_AUTH_URL"), "admin", value(text, "OS_PASSWORD"), "admin", value(text, "OS_CACERT"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String value(String openrc, String name) {
        var m = java.util.regex.Pattern.compile("(?m)^export " + name + "='?([^'\n]*)'?$").matcher(openrc);
        return m.find() ? m.group(1) : null;
    }

    /** The URL of the public API (without /identity/v3). */
    public String baseUrl() {
        return env.get("OS_AUTH_URL").replaceAll("/identity/v3/?$", "");
    }

    /** The CA file the cloud's certificate chains to, or null. */
    public String caCert() {
        return env.get("OS_CACERT");
    }

    /** The OS_* variables this client runs with, for other tools that read them (Halcyon's own CLI). */
    public Map<String, String> env() {
        return Map.copyOf(env);
    }

    public OpenStackCli as(String user, String password, String project) {
        return new OpenStackCli(env.get("OS_AUTH_URL"), user, password, project, env.get("OS_CACERT"));
    }

    public Command.Result run(String... args) {
        var argv = new ArrayList<>(List.of("openstack"));
        argv.addAll(List.of(args));
        return Command.run(argv, env, Duration.ofMinutes(5));
    }

    /** Runs and requires exit 0; returns stdout. */
    public String ok(String... args) {
        return run(args).orThrow().stdout();
    }
}
