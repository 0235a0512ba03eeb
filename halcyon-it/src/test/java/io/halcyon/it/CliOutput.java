package io.halcyon.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.halcyon.testkit.Command;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading what the {@code openstack} CLI printed. */
final class CliOutput {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CliOutput() {
    }

    /** The CLI's {@code -f json} output. */
    static JsonNode json(String out) {
        try {
            return JSON.readTree(out);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + out, e);
        }
    }

    /** A command that must fail, saying each of {@code expected} on stderr. */
    static void fails(Command.Result r, String... expected) {
        assertThat(r.exit()).as("expected a failure: %s", r.stdout()).isNotZero();
        assertThat(r.stderr()).contains(expected);
    }
}
