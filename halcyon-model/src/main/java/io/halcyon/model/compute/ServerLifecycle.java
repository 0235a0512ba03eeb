package io.halcyon.model.compute;

import io.halcyon.model.InvalidStateException;
import io.halcyon.model.agent.GuestReport;

import java.time.Instant;
import java.util.EnumSet;
import java.util.Set;

/**
 * The server state machine, as pure functions: API requests (which check Nova's preconditions and
 * answer 409 otherwise), scheduling outcomes, and what agents observe. Nothing here does I/O.
 */
public final class ServerLifecycle {
    private ServerLifecycle() {
    }

    private static final Set<VmState> STOPPABLE = EnumSet.of(VmState.ACTIVE, VmState.ERROR);
    private static final Set<VmState> SOFT_REBOOTABLE = EnumSet.of(VmState.ACTIVE);
    private static final Set<VmState> HARD_REBOOTABLE = EnumSet.of(VmState.ACTIVE, VmState.STOPPED, VmState.ERROR);
    private static final Set<TaskState> REBOOT_TASKS = EnumSet.of(TaskState.REBOOTING, TaskState.REBOOTING_HARD);

    private static InvalidStateException conflict(Server s, String action) {
        String task = s.status().taskState() == null ? "" : " and task_state " + s.status().taskState().wire();
        return new InvalidStateException("Cannot '" + action + "' instance " + s.id() + " while it is in vm_state "
                + s.status().vmState().wire() + task);
    }

    private static void requireNotDeleting(Server s, String action) {
        if (s.spec().deleted()) {
            throw conflict(s, action);
        }
    }

    public static Server requestStop(Server s, Instant now) {
        requireNotDeleting(s, "stop");
        if (!STOPPABLE.contains(s.status().vmState()) || s.status().taskState() != null || !s.placed()) {
            throw conflict(s, "stop");
        }
        return s.withSpec(s.spec().withPower(PowerIntent.OFF))
                .withStatus(s.status().withTask(TaskState.POWERING_OFF, now));
    }

    public static Server requestStart(Server s, Instant now) {
        requireNotDeleting(s, "start");
        if (s.status().vmState() != VmState.STOPPED || s.status().taskState() != null) {
            throw conflict(s, "start");
        }
        return s.withSpec(s.spec().withPower(PowerIntent.ON))
                .withStatus(s.status().withTask(TaskState.POWERING_ON, now));
    }

    public static Server requestReboot(Server s, RebootType type, Instant now) {
        requireNotDeleting(s, "reboot");
        VmState vm = s.status().vmState();
        TaskState task = s.status().taskState();
        boolean allowedTask = task == null || REBOOT_TASKS.contains(task);
        boolean allowedState = type == RebootType.HARD ? HARD_REBOOTABLE.contains(vm) : SOFT_REBOOTABLE.contains(vm);
        if (!allowedTask || !allowedState || !s.placed()) {
            throw conflict(s, "reboot");
        }
        if (type == RebootType.SOFT && task == TaskState.REBOOTING_HARD) {
            throw conflict(s, "reboot");
        }
        TaskState next = type == RebootType.HARD ? TaskState.REBOOTING_HARD : TaskState.REBOOTING;
        return s.withSpec(s.spec().withReboot(type).withPower(PowerIntent.ON))
                .withStatus(s.status().withTask(next, now));
    }

    public static Server requestDelete(Server s, Instant now) {
        return s.withSpec(s.spec().withDeleted()).withStatus(s.status().withTask(TaskState.DELETING, now));
    }

    /** The scheduler placed the server: a new epoch, and the host's agent takes over. */
    public static Server placed(Server s, String host, Instant now) {
        if (s.placed() || s.status().vmState() != VmState.BUILDING) {
            throw new InvalidStateException("server " + s.id() + " is already placed on " + s.status().host());
        }
        return s.withStatus(s.status().withPlacement(host, s.status().epoch() + 1, now).withTask(TaskState.SPAWNING, now));
    }

    /** The build cannot go on (its boot volume failed): ERROR with the reason, and the host is given back. */
    public static Server failBuild(Server s, String message, Instant now) {
        return s.withStatus(s.status().withStates(VmState.ERROR, null, PowerState.NOSTATE, now)
                .withFault(new Fault(500, message, "", now), now).withPlacement(null, s.status().epoch(), now));
    }

    public static Server noValidHost(Server s, String details, Instant now) {
        return s.withStatus(s.status().withStates(VmState.ERROR, null, PowerState.NOSTATE, now)
                .withFault(new Fault(500, Fault.NO_VALID_HOST, details, now), now));
    }

    /**
     * Its host was fenced and the server is HA: it shows REBUILD while it waits to start elsewhere
     * (an ERROR left by an earlier failed attempt is cleared by the next).
     */
    public static Server awaitingRecovery(Server s, Instant now) {
        return s.withStatus(s.status().withStates(VmState.ACTIVE, TaskState.REBUILDING, PowerState.NOSTATE, now));
    }

    /** Restarted elsewhere: a new placement at a new epoch; the new host's agent takes over. */
    public static Server evacuated(Server s, String host, Instant now) {
        return s.withStatus(s.status().withStates(VmState.ACTIVE, TaskState.REBUILDING, PowerState.NOSTATE, now)
                .withFault(null, now).withPlacement(host, s.status().epoch() + 1, now));
    }

    /** No host can take it now: ERROR with the reason; it stays waiting and is tried again when room appears. */
    public static Server recoveryBlocked(Server s, String reason, Instant now) {
        return s.withStatus(s.status().withStates(VmState.ERROR, null, PowerState.NOSTATE, now)
                .withFault(new Fault(500, reason, "", now), now));
    }

    /** Its host was fenced and it is not HA: it is off now, and stays off until its user starts it. */
    public static Server stoppedByFence(Server s, Instant now) {
        return s.withSpec(s.spec().withPower(PowerIntent.OFF))
                .withStatus(s.status().withStates(VmState.STOPPED, null, PowerState.SHUTDOWN, now));
    }

    /** What to do with a server after an agent's report. */
    public record Observation(Server next, boolean remove, boolean releaseClaim, Completed completed) {
    }

    /** An instance action finished: which one, its event name and result ("Success" or "Error"). */
    public record Completed(String action, String event, String result, String details) {
    }

    /** True when the report comes from the server's current placement. */
    public static boolean isCurrent(Server s, String host, GuestReport r) {
        return host.equals(s.status().host()) && r.epoch() == s.status().epoch();
    }

    public static Observation observe(Server s, GuestReport r, Instant now) {
        ServerStatus st = s.status();
        PowerState p = r.powerState();
        if (s.spec().deleted()) {
            if (r.gone()) {
                return new Observation(s, true, true,
                        new Completed(InstanceAction.DELETE, "compute_terminate_instance", "Success", null));
            }
            return new Observation(s.withStatus(st.withStates(st.vmState(), TaskState.DELETING, p, now)), false, false, null);
        }
        if (r.fault() != null && st.taskState() == null && st.vmState() == VmState.ACTIVE && p != PowerState.RUNNING) {
            // an HA guest that died more often than its restart budget allows: ERROR with the reason, and off
            var spec = s.spec().withPower(PowerIntent.OFF);
            var fault = new Fault(500, r.fault(), "", now);
            return new Observation(s.withSpec(spec).withStatus(st.withStates(VmState.ERROR, null, p, now).withFault(fault, now)),
                    false, false, null);
        }
        if (r.fault() != null) {
            return observeFault(s, r, now);
        }
        if (st.vmState() == VmState.BUILDING) {
            if (p == PowerState.RUNNING) {
                var next = st.withStates(VmState.ACTIVE, null, p, now).withLaunched(now, r.qemuStartMillis(), now)
                        .withObservedReboot(r.rebootGeneration(), now);
                return new Observation(s.withStatus(next), false, false,
                        new Completed(InstanceAction.CREATE, "compute__do_build_and_run_instance", "Success", null));
            }
            return unchanged(s, p, now);
        }
        TaskState task = st.taskState();
        if (task == TaskState.REBUILDING) {
            if (p == PowerState.RUNNING) {
                var next = st.withStates(VmState.ACTIVE, null, p, now).withLaunched(now, r.qemuStartMillis(), now)
                        .withObservedReboot(r.rebootGeneration(), now);
                return new Observation(s.withStatus(next), false, false,
                        new Completed(InstanceAction.EVACUATE, "compute_rebuild_instance", "Success", null));
            }
            return unchanged(s, p, now);
        }
        if (task == TaskState.POWERING_OFF && p != PowerState.RUNNING) {
            return new Observation(s.withStatus(st.withStates(VmState.STOPPED, null, p, now)), false, false,
                    new Completed(InstanceAction.STOP, "compute_stop_instance", "Success", null));
        }
        if (task == TaskState.POWERING_ON && p == PowerState.RUNNING) {
            return new Observation(s.withStatus(st.withStates(VmState.ACTIVE, null, p, now)), false, false,
                    new Completed(InstanceAction.START, "compute_start_instance", "Success", null));
        }
        if (task != null && REBOOT_TASKS.contains(task)) {
            if (r.rebootGeneration() >= s.spec().rebootGeneration() && p == PowerState.RUNNING) {
                var next = st.withStates(VmState.ACTIVE, null, p, now).withObservedReboot(r.rebootGeneration(), now);
                return new Observation(s.withStatus(next), false, false,
                        new Completed(InstanceAction.REBOOT, "compute_reboot_instance", "Success", null));
            }
            return unchanged(s, p, now);
        }
        if (task == null && st.vmState() == VmState.ACTIVE && p != PowerState.RUNNING && p != PowerState.PAUSED) {
            // the guest powered itself off (or died and is not restarted): like Nova's power-state sync, the server is now stopped
            var spec = s.spec().withPower(PowerIntent.OFF);
            return new Observation(s.withSpec(spec).withStatus(st.withStates(VmState.STOPPED, null, p, now)), false, false, null);
        }
        return unchanged(s, p, now);
    }

    private static Observation unchanged(Server s, PowerState p, Instant now) {
        if (s.status().powerState() == p) {
            return new Observation(s, false, false, null);
        }
        ServerStatus st = s.status();
        return new Observation(s.withStatus(st.withStates(st.vmState(), st.taskState(), p, now)), false, false, null);
    }

    private static Observation observeFault(Server s, GuestReport r, Instant now) {
        ServerStatus st = s.status();
        var fault = new Fault(500, r.fault(), "", now);
        if (st.vmState() == VmState.BUILDING) {
            // the agent removed what it had prepared; the server no longer holds the host
            var next = st.withStates(VmState.ERROR, null, PowerState.NOSTATE, now).withFault(fault, now)
                    .withPlacement(null, st.epoch(), now);
            return new Observation(s.withStatus(next), false, true,
                    new Completed(InstanceAction.CREATE, "compute__do_build_and_run_instance", "Error", r.fault()));
        }
        String action = actionOf(st.taskState());
        var next = st.withStates(st.vmState(), null, r.powerState(), now).withFault(fault, now);
        if (action == null) {
            return new Observation(s.withStatus(next), false, false, null);
        }
        if (InstanceAction.START.equals(action) || InstanceAction.STOP.equals(action)) {
            // leave the intent where the guest actually is, so the agent stops retrying
            PowerIntent actual = r.powerState() == PowerState.RUNNING ? PowerIntent.ON : PowerIntent.OFF;
            return new Observation(s.withSpec(s.spec().withPower(actual)).withStatus(next), false, false,
                    new Completed(action, "compute_" + action + "_instance", "Error", r.fault()));
        }
        return new Observation(s.withStatus(next.withObservedReboot(s.spec().rebootGeneration(), now)), false, false,
                new Completed(action, "compute_" + action + "_instance", "Error", r.fault()));
    }

    private static String actionOf(TaskState t) {
        if (t == null) {
            return null;
        }
        return switch (t) {
            case POWERING_OFF -> InstanceAction.STOP;
            case POWERING_ON -> InstanceAction.START;
            case REBOOTING, REBOOTING_HARD -> InstanceAction.REBOOT;
            case SCHEDULING, SPAWNING -> InstanceAction.CREATE;
            case DELETING -> InstanceAction.DELETE;
            case REBUILDING -> InstanceAction.EVACUATE;
        };
    }
}
