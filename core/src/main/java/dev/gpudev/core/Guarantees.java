package dev.gpudev.core;

import java.util.HashMap;
import java.util.Map;

/**
 * GPUs guaranteed to teams, per GPU type (Kueue's nominal quota). A team's waiting reservations that fit
 * in what it does not hold of its guarantee go ahead of everyone else's (after bookings), and take back
 * GPUs others borrowed: when its guaranteed GPUs are held by reservations of teams (or users in no team)
 * that hold more than their own guarantee, the youngest of those, lowest class first, are preempted, as
 * few as the reservation needs.
 */
public record Guarantees(Map<String, Map<String, Integer>> byTeam) {
    public Guarantees {
        Map<String, Map<String, Integer>> copy = new HashMap<>();
        byTeam.forEach((team, types) -> {
            Map<String, Integer> t = new HashMap<>();
            types.forEach((type, gpus) -> {
                if (gpus != null && gpus > 0) {
                    t.put(type, gpus);
                }
            });
            if (!t.isEmpty()) {
                copy.put(team, Map.copyOf(t));
            }
        });
        byTeam = Map.copyOf(copy);
    }

    private static final Guarantees NONE = new Guarantees(Map.of());

    public static Guarantees none() {
        return NONE;
    }

    public boolean any() {
        return !byTeam.isEmpty();
    }

    /** Whether a team other than this one (null: any team) has GPUs of this type guaranteed. */
    public boolean othersOn(String gpuType, String team) {
        return byTeam.entrySet().stream().anyMatch(e -> !e.getKey().equals(team) && e.getValue().containsKey(gpuType));
    }

    /** GPUs of this type guaranteed to this team (0 for none, and for no team). */
    public int of(String team, String gpuType) {
        if (team == null) {
            return 0;
        }
        return byTeam.getOrDefault(team, Map.of()).getOrDefault(gpuType, 0);
    }

    /** Whether a reservation of this team and type may claim a guarantee (it has one there). */
    public boolean claims(Reservation r) {
        return of(r.options().team(), r.gpuType()) > 0 && !r.options().priority().preemptible() && !r.options().booked();
    }
}
