package io.halcyon.model.compute;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static java.util.Objects.requireNonNull;

/**
 * One user-visible operation on a server ({@code openstack server event list}), with the events
 * that carried it out. {@code message} is set when it failed, as in Nova.
 */
public record InstanceAction(String requestId, String serverId, String action, String projectId, String userId,
                             Instant startTime, Instant updatedAt, String message, List<Event> events) {
    public InstanceAction {
        requireNonNull(requestId, "requestId is null");
        requireNonNull(serverId, "serverId is null");
        requireNonNull(action, "action is null");
        requireNonNull(startTime, "startTime is null");
        events = events == null ? List.of() : List.copyOf(events);
    }

    /** Nova's action names. */
    public static final String CREATE = "create";
    public static final String DELETE = "delete";
    public static final String STOP = "stop";
    public static final String START = "start";
    public static final String REBOOT = "reboot";
    /** Nova's name for restarting an instance on another host after its own failed. */
    public static final String EVACUATE = "evacuate";

    public record Event(String event, Instant startTime, Instant finishTime, String result, String host, String details) {
        public Event {
            requireNonNull(event, "event is null");
            requireNonNull(startTime, "startTime is null");
        }
    }

    public InstanceAction withEvent(Event e, Instant now) {
        var list = new ArrayList<>(events);
        list.add(e);
        String msg = "Error".equals(e.result()) && message == null ? e.details() : message;
        return new InstanceAction(requestId, serverId, action, projectId, userId, startTime, now, msg, list);
    }

    /** Key-ordering suffix: actions list in the order they started. */
    public String key() {
        return String.format("%020d-%s", startTime.toEpochMilli() * 1000 + startTime.getNano() / 1000 % 1000, requestId);
    }
}
