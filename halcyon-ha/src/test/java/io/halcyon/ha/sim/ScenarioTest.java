package io.halcyon.ha.sim;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Runs every scenario in {@code ha-scenarios/} through the simulator: the invariants hold at every
 * tick, and the event log equals the {@code .expected} file beside the scenario. After a deliberate
 * change of behaviour, {@code -Dha.sim.update=true} rewrites the expected files (in the source
 * tree) for review in the diff.
 */
class ScenarioTest {
    private static final Path SOURCE = Path.of("src/test/resources/ha-scenarios");

    static List<Path> scenarios() throws IOException, URISyntaxException {
        Path dir = Path.of(ScenarioTest.class.getResource("/ha-scenarios").toURI());
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".scenario")).sorted().toList();
        }
    }

    @Test
    void thereAreEnoughScenarios() throws Exception {
        assertThat(scenarios()).hasSizeGreaterThanOrEqualTo(30);
    }

    @TestFactory
    Stream<DynamicTest> scenariosProduceTheirExpectedLogs() throws Exception {
        boolean update = Boolean.getBoolean("ha.sim.update");
        var tests = new ArrayList<DynamicTest>();
        for (Path p : scenarios()) {
            String name = p.getFileName().toString().replace(".scenario", "");
            tests.add(DynamicTest.dynamicTest(name, () -> {
                var sc = Scenario.parse(name, Files.readString(p, StandardCharsets.UTF_8));
                String actual = String.join("\n", new Simulation(sc).run()) + "\n";
                Path expected = p.resolveSibling(name + ".expected");
                if (update) {
                    Files.writeString(SOURCE.resolve(name + ".expected"), actual, StandardCharsets.UTF_8);
                    return;
                }
                assertThat(Files.exists(expected)).as("expected log %s exists (run with -Dha.sim.update=true)", expected).isTrue();
                assertThat(actual).as("event log of %s", name).isEqualTo(Files.readString(expected, StandardCharsets.UTF_8));
            }));
        }
        return tests.stream();
    }
}
