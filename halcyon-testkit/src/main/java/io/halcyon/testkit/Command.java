package io.halcyon.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs an external command to completion with a time limit and captures its output. */
public final class Command {
    public record Result(int exit, String stdout, String stderr) {
        public Result orThrow() {
            if (exit != 0) {
                throw new AssertionError("command failed (exit " + exit + "): " + stderr + stdout);
            }
            return this;
        }
    }

    private Command() {
    }

    public static Result run(List<String> argv, Map<String, String> env, Duration timeout) {
        try {
            var pb = new ProcessBuilder(argv);
            pb.environment().putAll(env);
            Process p = pb.start();
            var out = new java.util.concurrent.CompletableFuture<String>();
            var err = new java.util.concurrent.CompletableFuture<String>();
            new Thread(() -> out.complete(read(p.getInputStream())), "cmd-out").start();
            new Thread(() -> err.complete(read(p.getErrorStream())), "cmd-err").start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("command timed out after " + timeout + ": " + String.join(" ", argv));
            }
            return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + argv.get(0) + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw new AssertionError("command failed: " + String.join(" ", argv), e);
        }
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
