package io.halcyon.controller.ha;

import io.halcyon.ha.BmcOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import static java.util.Objects.requireNonNull;

/**
 * Powers a host off through its BMC with ipmitool (IPMI v2.0 "lanplus") and confirms it: the
 * power status is read first ("already off" counts as fenced), then off is asked for and the
 * status polled until it says off. The password goes through the environment ({@code -E}), never
 * the command line. What the BMC said is the outcome's evidence.
 */
public final class BmcFencer implements HaController.Fencer {
    private static final Logger log = LoggerFactory.getLogger(BmcFencer.class);

    /** Where and how to reach one BMC. */
    public record Target(String host, String address, int port, String username, String password) {
    }

    private final String ipmitool;
    private final long confirmMillis;

    public BmcFencer(String ipmitool, long confirmMillis) {
        this.ipmitool = requireNonNull(ipmitool, "ipmitool is null");
        this.confirmMillis = confirmMillis;
    }

    @Override
    public BmcOutcome powerOff(Target t, String token, java.util.function.BooleanSupplier mayAct) {
        try {
            String before = status(t);
            if (isOff(before)) {
                return new BmcOutcome(t.host(), token, BmcOutcome.Result.ALREADY_OFF, before);
            }
            if (!mayAct.getAsBoolean()) {
                return new BmcOutcome(t.host(), token, BmcOutcome.Result.FAILED,
                        "called off before the power was cut: the token is stale (another leader, or the host renewed)");
            }
            String said = run(t, "chassis", "power", "off");
            long deadline = System.nanoTime() + confirmMillis * 1_000_000;
            String after = "";
            while (System.nanoTime() < deadline) {
                after = status(t);
                if (isOff(after)) {
                    return new BmcOutcome(t.host(), token, BmcOutcome.Result.OFF, said.trim() + "; then: " + after);
                }
                Thread.sleep(200);
            }
            return new BmcOutcome(t.host(), token, BmcOutcome.Result.FAILED, "asked for power off (" + said.trim()
                    + ") but the BMC still says: " + after);
        } catch (IOException e) {
            return new BmcOutcome(t.host(), token, BmcOutcome.Result.FAILED, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new BmcOutcome(t.host(), token, BmcOutcome.Result.FAILED, "interrupted");
        }
    }

    static boolean isOff(String status) {
        return status.toLowerCase(Locale.ROOT).contains("chassis power is off");
    }

    private String status(Target t) throws IOException, InterruptedException {
        return run(t, "chassis", "power", "status").trim();
    }

    private String run(Target t, String... args) throws IOException, InterruptedException {
        var cmd = new ArrayList<>(List.of(ipmitool, "-I", "lanplus", "-C", "3", "-N", "1", "-R", "2", "-H", t.address(),
                "-p", Integer.toString(t.port()), "-U", t.username(), "-E"));
        cmd.addAll(List.of(args));
        var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("IPMI_PASSWORD", t.password());
        Process p = pb.start();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("ipmitool " + String.join(" ", args) + " to " + t.address() + ":" + t.port() + " did not finish in 10 s");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.exitValue() != 0) {
            throw new IOException("ipmitool " + String.join(" ", args) + " to " + t.address() + ":" + t.port() + " failed (exit "
                    + p.exitValue() + "): " + out.replace('\n', ' '));
        }
        log.debug("event=ipmitool host={} args=\"{}\" output=\"{}\"", t.host(), String.join(" ", args), out);
        return out;
    }
}
