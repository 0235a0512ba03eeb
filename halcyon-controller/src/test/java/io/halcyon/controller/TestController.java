package io.halcyon.controller;

import io.halcyon.config.ConfigLoader;

import java.nio.file.Path;

/** Starts a controller on a free port over a sqlite store in a temp directory. */
final class TestController {
    static final String ADMIN_PASSWORD = "test-admin-password";
    static final String AGENT_TOKEN = "test-agent-token-0123456789";

    private TestController() {
    }

    record Wrapper(ControllerConfig controller) {
    }

    static ControllerMain start(Path dir, String extraYaml) throws Exception {
        String yaml = "controller:\n"
                + "  dataDir: " + dir + "\n"
                + "  api: {port: 0}\n"
                + "  agentApi: {port: 0}\n"
                + "  adminPassword: " + ADMIN_PASSWORD + "\n"
                + "  agentToken: " + AGENT_TOKEN + "\n"
                + "  bootstrap:\n"
                + "    flavors: [{id: \"1\", name: m1.tiny, vcpus: 1, ramMb: 128, diskGb: 1}]\n"
                + extraYaml;
        return ControllerMain.start(ConfigLoader.parse("test", yaml, Wrapper.class).controller());
    }
}
