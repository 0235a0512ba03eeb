package io.halcyon.runtime;

import java.time.Duration;

/** What a reconcile asks for next: nothing until the key changes again, or another look after a delay. */
public record Result(Duration requeueAfter) {
    private static final Result DONE = new Result(null);

    public static Result done() {
        return DONE;
    }

    public static Result after(Duration d) {
        return new Result(d);
    }
}
