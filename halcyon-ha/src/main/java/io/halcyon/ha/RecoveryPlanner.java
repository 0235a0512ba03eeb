package io.halcyon.ha;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where the HA guests of fenced hosts start again: highest priority first (then by id, so the
 * order is stable), each on the host with the most free RAM that fits it and holds no other member
 * of its anti-affinity group, with the room it takes counted before the next guest is placed.
 * Guests of hosts still being fenced ("expected") take room by their priority too, without being
 * placed yet: two hosts that fail a few seconds apart are recovered by priority across both.
 */
public final class RecoveryPlanner {
    private RecoveryPlanner() {
    }

    /** Free capacity of a host that may take guests. */
    public record Room(String host, int vcpus, int ramMb, int diskGb) {
        Room minus(GuestInput g) {
            return new Room(host, vcpus - g.vcpus(), ramMb - g.ramMb(), diskGb - g.diskGb());
        }

        boolean fits(GuestInput g) {
            return g.vcpus() <= vcpus && g.ramMb() <= ramMb && g.diskGb() <= diskGb;
        }
    }

    public static final Comparator<GuestInput> ORDER = Comparator.comparingInt((GuestInput g) -> -g.policy().priority())
            .thenComparing(GuestInput::id);

    /**
     * @param pending guests to place
     * @param rooms   hosts that may take guests
     * @param groups  per host, the anti-affinity groups of the guests it holds now
     */
    public static List<HaAction> plan(List<GuestInput> pending, List<Room> rooms, Map<String, Set<String>> groups) {
        return plan(pending, List.of(), rooms, groups);
    }

    /** @param expected guests of hosts not fenced yet that will need room if they are: they hold it, nothing more */
    public static List<HaAction> plan(List<GuestInput> pending, List<GuestInput> expected, List<Room> rooms,
                                      Map<String, Set<String>> groups) {
        var free = new TreeMap<String, Room>();
        rooms.forEach(r -> free.put(r.host(), r));
        var members = new HashMap<String, Set<String>>();
        groups.forEach((h, g) -> members.put(h, new HashSet<>(g)));
        var out = new ArrayList<HaAction>();
        var ordered = new ArrayList<>(pending);
        ordered.addAll(expected);
        ordered.sort(ORDER);
        var held = new java.util.HashSet<String>();
        expected.forEach(g -> held.add(g.id()));
        for (GuestInput g : ordered) {
            Room best = null;
            int small = 0;
            int grouped = 0;
            for (Room r : free.values()) {
                if (!r.fits(g)) {
                    small++;
                } else if (g.group() != null && members.getOrDefault(r.host(), Set.of()).contains(g.group())) {
                    grouped++;
                } else if (best == null || r.ramMb() > best.ramMb()) {
                    best = r;
                }
            }
            if (best == null) {
                if (!held.contains(g.id())) {
                    out.add(new HaAction.Unplaceable(g.id(), g.host(), reason(free.size(), small, grouped, g.group())));
                }
                continue;
            }
            free.put(best.host(), best.minus(g));
            if (g.group() != null) {
                members.computeIfAbsent(best.host(), k -> new HashSet<>()).add(g.group());
            }
            if (!held.contains(g.id())) {
                out.add(new HaAction.Evacuate(g.id(), g.host(), best.host(), g.epoch(), g.policy().priority()));
            }
        }
        return out;
    }

    private static String reason(int hosts, int small, int grouped, String group) {
        if (hosts == 0) {
            return "No valid host for HA recovery: no host is up and schedulable.";
        }
        var parts = new ArrayList<String>();
        if (small > 0) {
            parts.add(small + " lack free capacity");
        }
        if (grouped > 0) {
            parts.add(grouped + " already hold a member of anti-affinity group " + group);
        }
        return "No valid host for HA recovery: of " + hosts + " host(s) up, " + String.join(", ", parts) + ".";
    }
}
