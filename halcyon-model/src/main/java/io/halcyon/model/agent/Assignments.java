package io.halcyon.model.agent;

import java.util.List;

/** Everything placed on one host, as of a revision the agent passes back to wait for the next change. */
public record Assignments(String host, long revision, List<Assignment> assignments) {
    public Assignments {
        assignments = assignments == null ? List.of() : List.copyOf(assignments);
    }
}
