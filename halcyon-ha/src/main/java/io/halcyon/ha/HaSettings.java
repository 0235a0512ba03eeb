package io.halcyon.ha;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * The cluster's HA timing and brakes. {@link #problems()} names every setting that breaks the
 * safety argument in this package's notes; the controller refuses to start with any.
 *
 * @param renewInterval    how often agents renew their host lease
 * @param leaseTtl         silence after which the leader calls a host down
 * @param suspectAfter     silence after which a host is shown as suspect (nothing is done yet)
 * @param selfFenceTimeout silence (agent's own clock) after which an agent kills its HA guests and
 *                         stops petting its watchdog
 * @param fenceMargin      added to the self-fence deadline for clock rate error and the kill
 * @param brakeShare       when more than this share of hosts (and at least two) fail within
 *                         {@code brakeWindow}, nobody more is fenced and an alarm is raised
 * @param brakeWindow      how far back the brakes count failures: hosts fenced within it count
 *                         as failed, so failures a few seconds apart add up
 * @param bmcRetryInterval wait between power-off attempts through a failing BMC
 * @param bmcAttempts      failed BMC attempts after which a host without a watchdog is unfenceable
 * @param restartLimit     in-place restarts of one guest allowed per {@code restartWindow}
 * @param restartWindow    the period of {@code restartLimit}
 * @param defaultPolicy    HA for servers that say nothing about it
 */
public record HaSettings(Duration renewInterval, Duration leaseTtl, Duration suspectAfter, Duration selfFenceTimeout,
                         Duration fenceMargin, double brakeShare, Duration brakeWindow, Duration bmcRetryInterval, int bmcAttempts, int restartLimit,
                         Duration restartWindow, HaPolicy defaultPolicy) {
    /** Worst clock rate error assumed between any two hosts' monotonic clocks. */
    public static final double CLOCK_RATE_ERROR = 0.01;
    /** Time the agent may take from its self-fence deadline to its HA guests gone: one last renewal try, then SIGKILL. */
    public static final Duration KILL_BUDGET = Duration.ofMillis(1500);

    public HaSettings {
        requireNonNull(renewInterval, "renewInterval is null");
        requireNonNull(leaseTtl, "leaseTtl is null");
        requireNonNull(suspectAfter, "suspectAfter is null");
        requireNonNull(selfFenceTimeout, "selfFenceTimeout is null");
        requireNonNull(fenceMargin, "fenceMargin is null");
        requireNonNull(brakeWindow, "brakeWindow is null");
        requireNonNull(bmcRetryInterval, "bmcRetryInterval is null");
        requireNonNull(restartWindow, "restartWindow is null");
        requireNonNull(defaultPolicy, "defaultPolicy is null");
    }

    public static HaSettings defaults() {
        return new HaSettings(Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(4),
                Duration.ofSeconds(2), 0.5, Duration.ofMinutes(10), Duration.ofSeconds(2), 3, 3, Duration.ofMinutes(10), new HaPolicy(false, 0));
    }

    /** Every broken rule, each naming its settings; empty when the settings are safe. */
    public List<String> problems() {
        var out = new ArrayList<String>();
        long renew = renewInterval.toMillis();
        long ttl = leaseTtl.toMillis();
        long self = selfFenceTimeout.toMillis();
        if (renew <= 0) {
            out.add("renewInterval must be positive");
        }
        if (ttl < 3 * renew) {
            out.add("leaseTtl (" + leaseTtl + ") must be at least 3 x renewInterval (" + renewInterval
                    + ") so that two lost renewals never take a host down");
        }
        if (suspectAfter.compareTo(renewInterval) < 0 || suspectAfter.compareTo(leaseTtl) >= 0) {
            out.add("suspectAfter (" + suspectAfter + ") must be at least renewInterval and less than leaseTtl");
        }
        if (self < 2 * renew) {
            out.add("selfFenceTimeout (" + selfFenceTimeout + ") must be at least 2 x renewInterval (" + renewInterval
                    + ") so that one lost renewal never kills guests");
        }
        if (self >= ttl) {
            out.add("selfFenceTimeout (" + selfFenceTimeout + ") must be less than leaseTtl (" + leaseTtl
                    + "): an agent must give up its guests before the leader may call its host down");
        }
        if (fenceMargin.compareTo(Duration.ofSeconds(1)) < 0) {
            out.add("fenceMargin (" + fenceMargin + ") must be at least 1 s");
        }
        if (!(brakeShare > 0 && brakeShare <= 1)) {
            out.add("brakeShare (" + brakeShare + ") must be in (0, 1]");
        }
        if (brakeWindow.compareTo(leaseTtl.plus(selfFenceTimeout).plus(fenceMargin).multipliedBy(2)) < 0) {
            out.add("brakeWindow (" + brakeWindow + ") must be at least twice leaseTtl + selfFenceTimeout + fenceMargin, so that "
                    + "failures one fence apart still add up");
        }
        if (bmcRetryInterval.isNegative() || bmcRetryInterval.isZero()) {
            out.add("bmcRetryInterval must be positive");
        }
        if (bmcAttempts < 1) {
            out.add("bmcAttempts must be at least 1");
        }
        if (restartLimit < 0) {
            out.add("restartLimit must not be negative");
        }
        if (restartWindow.isNegative() || restartWindow.isZero()) {
            out.add("restartWindow must be positive");
        }
        if (defaultPolicy.priority() < HaPolicy.MIN_PRIORITY || defaultPolicy.priority() > HaPolicy.MAX_PRIORITY) {
            out.add("the default priority must be within " + HaPolicy.MIN_PRIORITY + ".." + HaPolicy.MAX_PRIORITY);
        }
        return out;
    }

    /** Throws naming every problem; returns this when the settings are safe. */
    public HaSettings validated() {
        var p = problems();
        if (!p.isEmpty()) {
            throw new IllegalArgumentException("unsafe HA settings: " + String.join("; ", p));
        }
        return this;
    }

    /**
     * How long after the last renewal it saw the leader must wait before a host with a watchdog of
     * {@code watchdog} counts as self-fenced; empty when that watchdog is too slow for the margin.
     */
    public Optional<Duration> selfFenceWait(Duration watchdog) {
        if (watchdog == null || watchdog.isNegative() || watchdog.isZero()) {
            return Optional.empty();
        }
        long s = selfFenceTimeout.toMillis();
        long w = watchdog.toMillis();
        long d = leaseTtl.toMillis() + Math.max(s, w) + fenceMargin.toMillis();
        double leaderSide = d * (1 - CLOCK_RATE_ERROR);
        boolean safe = leaderSide > (s + w) * (1 + CLOCK_RATE_ERROR)
                && leaderSide > s * (1 + CLOCK_RATE_ERROR) + KILL_BUDGET.toMillis();
        return safe ? Optional.of(Duration.ofMillis(d)) : Optional.empty();
    }
}
