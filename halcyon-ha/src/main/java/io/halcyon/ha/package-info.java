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
 * <h2>When a timing assumption is false: the storage leases</h2>
 * The arithmetic rests on the watchdog firing within {@code W} and on clock rates within
 * {@code rho}. The guarantee does not: a guest's disks can be written only by the QEMU holding
 * their lease on the storage itself, the image's lock for files (held by QEMU for its lifetime,
 * arbitrated by the kernel or the NFS server) and, for RBD, the exclusive lock with its previous
 * holder's client address on the OSD blocklist before the guest is restarted elsewhere. So a
 * watchdog that fires late, or a clock that runs fast, makes a restart wait for the old QEMU to
 * be gone (files) or leaves the old QEMU unable to write (Ceph); it never makes two writers. The
 * simulator models the leases and shows, with them turned off, the double run they prevent.
 *
 * <h2>Renewals off the store's write path</h2>
 * A renewal is not a write of its own. Each controller answers the renewals it gets in a tenth
 * of a second with one write of one record ({@code HostBeatBatch}, naming the hosts), and only
 * after that write, so {@code w >= a} above still holds for the batch's write, and the leader,
 * which reads every version of every batch as the store delivers them, still sees {@code l >= w}.
 * The host's renewal record ({@code HostBeat}) is written only on a transition: a new lease, a
 * change of what the agent enforces, the first renewal after a self-fence, and any renewal while
 * the leader does not hold the host for up. That is all a newly elected leader needs: it counts
 * silence from its own election, not from any stored time, so it needs no renewal history, only
 * whether each host self-fences (the record's {@code armed}, current because every change of it
 * is written before the agent acts on it) and a token that changes whenever a fenced or failing
 * host renews (the record's revision, which the write declaring it fenced compares). A renewal
 * the leader has not read yet when it decides is one the agent made less than a batch ago, which
 * the arithmetic allows for, since it counts from the renewal's sending, not its reading. An agent
 * catches the controller it renews through up with the newest revision it was answered, so a
 * controller never compares with a record older than one another controller wrote for it.
 *
 * <h2>Disarming</h2>
 * The record says whether the agent enforced its self-fence when it sent that renewal; the agent
 * stands down only after a renewal saying it no longer does has been written (see
 * {@link io.halcyon.ha.SelfFence}), so no record saying "armed" is ever followed by an agent that
 * is not.
 *
 * <h2>Fencing tokens</h2>
 * Every decision is written with the leader's epoch as a store precondition, so a deposed leader
 * cannot act. A BMC cannot check an epoch, so the controller checks it for it twice: before it
 * starts talking to the BMC, and again (with the host's renewals) immediately before the command
 * that cuts the power, since reading the power status first can take long enough for a pause to
 * depose the leader or for the host to come back. The write that declares a host fenced also compares the host's last renewal record
 * with the one the decision saw: a renewal that lands in between makes it fail. After it
 * self-fenced, an agent restarts nothing until it has renewed again and holds an assignment list
 * at least as new as that renewal; either the fence committed first (and the list no longer gives
 * it those guests) or the renewal did (and the fence never commits). Placements carry epochs; an
 * agent removes a guest whose placement moved on before it does anything else.
 *
 * <h2>Power fencing</h2>
 * A BMC's confirmed power-off (or its "already off") fences at once, with no wait. A host with
 * neither a BMC nor an armed watchdog is unfenceable: its guests are never restarted elsewhere.
 *
 * <h2>The brakes</h2>
 * Failures are counted over {@code brakeWindow}, not one tick: a host counts from the moment it is
 * suspect, and for the whole window after it was fenced. So hosts cut a second apart, or whose
 * renewals were out of phase, are counted together before the first of them is fenced, and a
 * rolling failure takes at most {@code brakeShare} of the hosts before it stops for a person.
 */
package io.halcyon.ha;
