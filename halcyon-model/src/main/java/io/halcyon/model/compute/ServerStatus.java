package io.halcyon.model.compute;

import java.time.Instant;

import static java.util.Objects.requireNonNull;

/**
 * What the cloud decided and observed. {@code host} and {@code epoch} are the placement: the
 * epoch rises with every new placement, so an agent can tell a current assignment from a stale one.
 */
public record ServerStatus(VmState vmState, TaskState taskState, PowerState powerState, String host, long epoch,
                           long observedRebootGeneration, Fault fault, Instant launchedAt, Instant updatedAt,
                           long qemuStartMillis) {
    public ServerStatus {
        requireNonNull(vmState, "vmState is null");
        requireNonNull(powerState, "powerState is null");
        requireNonNull(updatedAt, "updatedAt is null");
    }

    public static ServerStatus building(Instant now) {
        return new ServerStatus(VmState.BUILDING, TaskState.SCHEDULING, PowerState.NOSTATE, null, 0, 0, null, null, now, 0);
    }

    public ServerStatus withTask(TaskState t, Instant now) {
        return new ServerStatus(vmState, t, powerState, host, epoch, observedRebootGeneration, fault, launchedAt, now, qemuStartMillis);
    }

    public ServerStatus withStates(VmState v, TaskState t, PowerState p, Instant now) {
        return new ServerStatus(v, t, p, host, epoch, observedRebootGeneration, fault, launchedAt, now, qemuStartMillis);
    }

    public ServerStatus withPlacement(String h, long e, Instant now) {
        return new ServerStatus(vmState, taskState, powerState, h, e, observedRebootGeneration, fault, launchedAt, now, qemuStartMillis);
    }

    public ServerStatus withFault(Fault f, Instant now) {
        return new ServerStatus(vmState, taskState, powerState, host, epoch, observedRebootGeneration, f, launchedAt, now, qemuStartMillis);
    }

    public ServerStatus withObservedReboot(long gen, Instant now) {
        return new ServerStatus(vmState, taskState, powerState, host, epoch, gen, fault, launchedAt, now, qemuStartMillis);
    }

    public ServerStatus withLaunched(Instant at, long qemuMillis, Instant now) {
        return new ServerStatus(vmState, taskState, powerState, host, epoch, observedRebootGeneration, fault, at, now, qemuMillis);
    }

    /** Nova's API {@code status}, derived from vm_state and task_state as Nova does. */
    public String apiStatus() {
        return switch (vmState) {
            case BUILDING -> "BUILD";
            case ACTIVE -> {
                if (taskState == TaskState.REBOOTING) {
                    yield "REBOOT";
                }
                if (taskState == TaskState.REBOOTING_HARD) {
                    yield "HARD_REBOOT";
                }
                if (taskState == TaskState.REBUILDING) {
                    yield "REBUILD";
                }
                yield "ACTIVE";
            }
            case STOPPED -> taskState == TaskState.REBOOTING_HARD ? "HARD_REBOOT" : "SHUTOFF";
            case ERROR -> "ERROR";
            case DELETED -> "DELETED";
        };
    }
}
