package io.halcyon.cli;

import io.halcyon.config.ConfigLoader;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The example configurations the README points at are valid: no unknown keys, and they pass validation. */
class ExampleConfigsTest {
    static final Path EXAMPLES = Path.of("..", "examples", "ha");

    @Test
    void theHaControllerAndAgentConfigsLoadAndValidate() throws Exception {
        var controller = ConfigLoader.load(EXAMPLES.resolve("controller.yaml"), HalcyonConfig.class).controller().validate();
        assertThat(controller.store().backend()).isEqualTo("etcd");
        assertThat(controller.store().etcdEndpoints()).hasSize(3);
        var agent = ConfigLoader.load(EXAMPLES.resolve("agent.yaml"), HalcyonConfig.class).agent().validate();
        assertThat(agent.controllers()).hasSize(3);
        // the host's NICs are checked on the host itself; here every name is taken as present
        agent.network().validate(nic -> true);
    }
}
