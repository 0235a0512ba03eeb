package io.halcyon.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.halcyon.agent.AgentConfig;
import io.halcyon.controller.ControllerConfig;

/** One process's configuration file: a controller section, an agent section, or both (all-in-one). */
public record HalcyonConfig(@JsonProperty("controller") ControllerConfig controller, @JsonProperty("agent") AgentConfig agent) {
}
