/**
 * Instance HA as pure decisions: the leader's {@link io.halcyon.ha.HaMonitor} (host health,
 * fencing, the brakes, recovery) and the agent's {@link io.halcyon.ha.SelfFence}. Nothing here
 * does I/O or reads a clock: callers pass the time, so the simulator in the tests drives exactly
 * the code the controller and agent run.
 *
 * <h2>Why a guest never runs on two hosts: the arithmetic</h2>
 *
 * Neither etcd leases nor etcd locks give mutual exclusion on their own: a lease can outlive its
 * TTL across an etcd leader change, and a process that holds a lock can be paused past its
 * expiry. So each side measures time on its own monotonic clock and never compares timestamps
 * with the other:
 * <ul>
 *   <li>The agent notes {@code a}, the time it <em>sent</em> its last renewal that succeeded
 *       (not the time the answer came back). The renewal is written to the store at real time
 *       {@code w >= a}.</li>
 *   <li>The leader notes {@code l}, the time it first saw that renewal; {@code l >= w >= a}
 *       because it cannot see a write before it happens. A new leader counts from its own
 *       election, which is later still.</li>
 * </ul>
 * The agent pets the host's watchdog only while {@code now - a < S} (the self-fence timeout),
 * and at {@code a + S} it makes one last renewal attempt and, failing, SIGKILLs its HA guests
 * (both within {@code K}, the kill budget). The
 * watchdog resets the host at most {@code W} after the last pet. So, whatever hangs, the host's
 * HA guests are gone by agent-clock {@code a + S + W}. The leader calls the host self-fenced at
 * leader-clock {@code l + D} with {@code D = TTL + max(S, W) + M}. With both clocks' rates within
 * {@code rho} of real time, it is safe when
 * <pre>
 *   D (1 - rho)  >  (S + W) (1 + rho)      and      D (1 - rho)  >  S (1 + rho) + K
 * </pre>
 * Because {@code S < TTL} is required, {@code D - (S + W) >= TTL - S + M > M}: the margin only has
 * to cover clock rate error and the kill, {@code M > 2 rho D + K}. With the defaults (renewal 1 s,
 * TTL 5 s, S 4 s, a 4 s watchdog, M 2 s): D = 11 s, and the guests are gone by
 * 8 s x 1.01 = 8.08 s < 11 s x 0.99 = 10.89 s, with rho = 1 % (far worse than any NTP-disciplined
 * or free-running quartz clock) and K = 1.5 s. Proxmox's version of the same argument is watchdog
 * 60 s + 10 s < lock 120 s. {@link io.halcyon.ha.HaSettings} refuses settings that break it, and a
 * host whose watchdog is too slow for the margin does not count as self-fencing.
 *
 * <h2>Fencing tokens</h2>
 * Every decision is written with the leader's epoch as a store precondition, so a deposed leader
 * cannot act. The write that declares a host fenced also compares the host's last renewal record
 * with the one the decision saw: a renewal that lands in between makes it fail. After it
 * self-fenced, an agent restarts nothing until it has renewed again and holds an assignment list
 * at least as new as that renewal; either the fence committed first (and the list no longer gives
 * it those guests) or the renewal did (and the fence never commits). Placements carry epochs; an
 * agent removes a guest whose placement moved on before it does anything else.
 *
 * <h2>Power fencing</h2>
 * A BMC's confirmed power-off (or its "already off") fences at once, with no wait. A host with
 * neither a BMC nor an armed watchdog is unfenceable: its guests are never restarted elsewhere.
 */
package io.halcyon.ha;
