package io.halcyon.agent.qemu;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.halcyon.model.agent.Assignment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds an OpenStack config drive (label {@code config-2}, openstack/latest/meta_data.json and
 * user_data) as a small vfat image with mtools: no loop device, no mount, no root needed.
 */
public final class ConfigDrive {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConfigDrive() {
    }

    public static Map<String, Object> metaData(Assignment a) {
        var m = new LinkedHashMap<String, Object>();
        m.put("uuid", a.serverId());
        m.put("name", a.name());
        m.put("hostname", a.hostname());
        m.put("availability_zone", a.availabilityZone());
        m.put("project_id", a.projectId());
        m.put("launch_index", 0);
        m.put("meta", a.metadata());
        m.put("public_keys", Map.of());
        m.put("devices", List.of());
        return m;
    }

    public static void build(Assignment a, Path target, Path workDir) throws IOException, InterruptedException {
        Path tmp = workDir.resolve("config-drive.tmp");
        Path stage = Files.createTempDirectory(workDir, "cfg");
        try {
            Files.deleteIfExists(tmp);
            Path md = stage.resolve("meta_data.json");
            Files.write(md, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(metaData(a)));
            run(List.of("mkfs.vfat", "-C", "-n", "config-2", tmp.toString(), "2048"));
            run(List.of("mmd", "-i", tmp.toString(), "::/openstack", "::/openstack/latest"));
            run(List.of("mcopy", "-i", tmp.toString(), md.toString(), "::/openstack/latest/meta_data.json"));
            if (a.userData() != null && !a.userData().isEmpty()) {
                Path ud = stage.resolve("user_data");
                Files.write(ud, Base64.getMimeDecoder().decode(a.userData()));
                run(List.of("mcopy", "-i", tmp.toString(), ud.toString(), "::/openstack/latest/user_data"));
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
            try (var s = Files.list(stage)) {
                for (Path p : s.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(stage);
        }
    }

    static void run(List<String> cmd) throws IOException, InterruptedException {
        var env = new ArrayList<>(cmd);
        var pb = new ProcessBuilder(env).redirectErrorStream(true);
        pb.environment().put("MTOOLS_SKIP_CHECK", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out.trim());
        }
    }
}
