package dev.gpudev.core;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Teams' guaranteed GPUs, before a cycle plans (Kueue's reclaim within a cohort). In the order given:
 * bookings stay first; then the reservations that claim a guarantee (what their team does not hold of
 * it covers them, counting its claimers ahead); then the rest. A claimer that could not start within the
 * notice takes back borrowed GPUs: on the node where it needs the fewest, it preempts reservations of
 * groups (a team, or everyone in no team) that hold more of that type than their own guarantee, lowest
 * class first, then the youngest, as long as their group still borrows, and keeps none it did not need.
 * Victims are told the notice ahead; their GPUs are free a grace later, when the claimer is planned.
 *
 * <p>A distributed claimer (whole nodes) goes ahead but takes nothing back (it waits as others do).
 */
final class Reclaim {
    /** The order to plan in, and the reservations preempted (when each ends). */
    record Decision(List<Reservation> order, Map<UUID, Scheduler.Preemption> victims, Set<UUID> claimers) {
    }

    private Reclaim() {
    }

    static Decision of(Scheduler.Snapshot snapshot, List<Reservation> ordered, long now, long notice, long grace) {
        Guarantees g = snapshot.fairShare().guarantees();
        if (!g.any()) {
            return new Decision(ordered, Map.of(), Set.of());
        }
        long soon = now + notice; // holders ending by then free their GPUs as early as a victim would
        Map<String, Integer> held = new HashMap<>(); // group|type → GPUs held (not ending soon)
        Map<String, Integer> free = new HashMap<>(); // node → GPUs free by then
        Map<String, Capacity.Node> nodes = new HashMap<>();
        for (Capacity.Node n : snapshot.capacity().nodes()) {
            nodes.put(n.name(), n);
            free.put(n.name(), n.gpus().size());
        }
        List<Reservation> holders = new ArrayList<>();
        for (Reservation h : snapshot.holding()) {
            if (h.placement() == null || endsBy(h, soon)) {
                continue;
            }
            holders.add(h);
            held.merge(key(group(h), h.gpuType()), h.gpuCount(), Integer::sum);
            for (var s : h.placement().slices()) {
                free.computeIfPresent(s.node(), (k, v) -> v - s.gpuCount());
            }
        }
        List<Reservation> bookings = new ArrayList<>();
        List<Reservation> claimers = new ArrayList<>();
        List<Reservation> rest = new ArrayList<>();
        Map<String, Integer> claimed = new HashMap<>();
        for (Reservation r : ordered) {
            if (r.options().booked()) {
                bookings.add(r);
            } else if (g.claims(r) && held.getOrDefault(key(group(r), r.gpuType()), 0) + claimed.getOrDefault(key(group(r), r.gpuType()), 0)
                    + r.gpuCount() <= g.of(r.options().team(), r.gpuType())) {
                claimed.merge(key(group(r), r.gpuType()), r.gpuCount(), Integer::sum);
                claimers.add(r);
            } else {
                rest.add(r);
            }
        }
        if (claimers.isEmpty()) {
            return new Decision(ordered, Map.of(), Set.of());
        }
        Map<UUID, Scheduler.Preemption> victims = new HashMap<>();
        for (Reservation r : claimers) {
            if (!r.options().distributed()) {
                take(r, g, nodes, free, held, holders, victims, now + notice);
            }
        }
        List<Reservation> order = new ArrayList<>(ordered.size());
        order.addAll(bookings);
        order.addAll(claimers);
        order.addAll(rest);
        Set<UUID> ids = new HashSet<>();
        claimers.forEach(r -> ids.add(r.id()));
        return new Decision(order, victims, ids);
    }

    /** GPUs for one claimer: a node with them free by the notice, else the node where the fewest borrowers give them back. */
    private static void take(Reservation r, Guarantees g, Map<String, Capacity.Node> nodes, Map<String, Integer> free,
                             Map<String, Integer> held, List<Reservation> holders, Map<UUID, Scheduler.Preemption> victims, long endsAt) {
        int k = r.gpuCount();
        List<Capacity.Node> fitting = nodes.values().stream()
                .filter(n -> n.gpuType().equals(r.gpuType()) && n.gpus().size() >= k && n.hasLabels(r.options().nodeLabels()))
                .sorted(Comparator.comparing(Capacity.Node::name)).toList();
        Capacity.Node bestFree = null;
        for (Capacity.Node n : fitting) {
            int f = free.get(n.name());
            if (f >= k && (bestFree == null || f < free.get(bestFree.name()))) {
                bestFree = n;
            }
        }
        if (bestFree != null) {
            free.merge(bestFree.name(), -k, Integer::sum);
            return;
        }
        List<Reservation> best = null;
        Capacity.Node bestNode = null;
        for (Capacity.Node n : fitting) {
            List<Reservation> chosen = victimsOn(n, r, k, g, free.get(n.name()), held, holders, victims.keySet());
            if (chosen != null && (best == null || chosen.size() < best.size()
                    || chosen.size() == best.size() && gpus(chosen) < gpus(best))) {
                best = chosen;
                bestNode = n;
            }
        }
        if (best == null) {
            return; // nothing borrowed to take back here: it waits as others do
        }
        for (Reservation v : best) {
            victims.put(v.id(), new Scheduler.Preemption(v.id(), java.time.Instant.ofEpochMilli(endsAt),
                    "team " + r.options().team() + " takes back its guaranteed " + r.gpuType() + " GPUs"));
            held.merge(key(group(v), v.gpuType()), -v.gpuCount(), Integer::sum);
            for (var s : v.placement().slices()) {
                free.computeIfPresent(s.node(), (x, f) -> f + s.gpuCount());
            }
        }
        free.merge(bestNode.name(), -k, Integer::sum);
    }

    /** The borrowers on this node to preempt so that k GPUs are free (as few as needed), or null when they cannot. */
    private static List<Reservation> victimsOn(Capacity.Node n, Reservation r, int k, Guarantees g, int free, Map<String, Integer> held,
                                               List<Reservation> holders, Set<UUID> taken) {
        List<Reservation> candidates = new ArrayList<>();
        for (Reservation h : holders) {
            if (h.status() == ReservationStatus.ACTIVE && !taken.contains(h.id()) && !group(h).equals(group(r)) && onNode(h, n.name()) > 0) {
                candidates.add(h);
            }
        }
        candidates.sort(Comparator.comparing((Reservation h) -> !h.options().priority().preemptible())
                .thenComparingDouble(h -> h.options().priority().boostHours())
                .thenComparing(Comparator.comparing(Reclaim::started).reversed()).thenComparing(Reservation::id));
        Map<String, Integer> stillHeld = new HashMap<>(held);
        List<Reservation> chosen = new ArrayList<>();
        int f = free;
        for (Reservation h : candidates) {
            if (f >= k) {
                break;
            }
            String key = key(group(h), h.gpuType());
            if (stillHeld.getOrDefault(key, 0) <= g.of(h.options().team(), h.gpuType())) {
                continue; // its group does not borrow (any more): it keeps its GPUs
            }
            chosen.add(h);
            stillHeld.merge(key, -h.gpuCount(), Integer::sum);
            f += onNode(h, n.name());
        }
        if (f < k) {
            return null;
        }
        for (int i = chosen.size() - 1; i >= 0; i--) { // never more than needed: keep any the others already cover
            int mine = onNode(chosen.get(i), n.name());
            if (f - mine >= k) {
                f -= mine;
                chosen.remove(i);
            }
        }
        return chosen;
    }

    private static java.time.Instant started(Reservation h) {
        return h.launchedAt() != null ? h.launchedAt() : h.createdAt();
    }

    private static int onNode(Reservation h, String node) {
        int k = 0;
        for (var s : h.placement().slices()) {
            if (s.node().equals(node)) {
                k += s.gpuCount();
            }
        }
        return k;
    }

    private static int gpus(List<Reservation> rs) {
        return rs.stream().mapToInt(Reservation::gpuCount).sum();
    }

    private static boolean endsBy(Reservation h, long t) {
        return h.expiresAt() != null && h.expiresAt().toEpochMilli() <= t;
    }

    /** A team, or "" for everyone in no team (whose guarantee is none). */
    private static String group(Reservation r) {
        return r.options().team() == null ? "" : r.options().team();
    }

    private static String key(String group, String type) {
        return group + "|" + type;
    }
}
