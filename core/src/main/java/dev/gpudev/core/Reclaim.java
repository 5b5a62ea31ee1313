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
        for (Capacity.Node n : snapshot.capacity().nodes()) {
            free.put(n.name(), n.gpus().size());
        }
        Map<String, List<Reservation>> holders = new HashMap<>(); // node → holders with a slice there
        for (Reservation h : snapshot.holding()) {
            if (h.placement() == null || endsBy(h, soon)) {
                continue;
            }
            for (var s : h.placement().slices()) {
                holders.computeIfAbsent(s.node(), k -> new ArrayList<>(2)).add(h);
            }
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
        Map<String, List<Capacity.Node>> byType = new HashMap<>();
        for (Capacity.Node n : snapshot.capacity().nodes()) {
            byType.computeIfAbsent(n.gpuType(), t -> new ArrayList<>()).add(n);
        }
        byType.values().forEach(l -> l.sort(Comparator.comparing(Capacity.Node::name)));
        Map<String, Integer> failedAt = new HashMap<>(); // team|type → the fewest GPUs nothing could be taken back for
        int tries = 0;
        for (Reservation r : claimers) {
            String key = key(group(r), r.gpuType());
            if (r.options().distributed() || r.gpuCount() >= failedAt.getOrDefault(key, Integer.MAX_VALUE) || tries == MAX_TRIES) {
                continue;
            }
            tries++;
            if (!take(r, g, byType.getOrDefault(r.gpuType(), List.of()), free, held, holders, victims, now + notice)) {
                failedAt.merge(key, r.gpuCount(), Math::min);
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

    /** Claimers a plan looks for GPUs for (the rest go ahead and are looked at by the next plans): a bound on the cost. */
    static final int MAX_TRIES = 256;

    /**
     * GPUs for one claimer: a node with them free by the notice, else the node where the fewest borrowers
     * give them back; false when no node can give them.
     */
    private static boolean take(Reservation r, Guarantees g, List<Capacity.Node> ofType, Map<String, Integer> free,
                             Map<String, Integer> held, Map<String, List<Reservation>> holders, Map<UUID, Scheduler.Preemption> victims,
                             long endsAt) {
        int k = r.gpuCount();
        Map<String, String> labels = r.options().nodeLabels();
        List<Capacity.Node> fitting = new ArrayList<>();
        for (Capacity.Node n : ofType) {
            if (n.gpus().size() >= k && (labels.isEmpty() || n.hasLabels(labels))) {
                fitting.add(n);
            }
        }
        Capacity.Node bestFree = null;
        int mostFree = 0;
        for (Capacity.Node n : fitting) {
            int f = free.get(n.name());
            mostFree = Math.max(mostFree, f);
            if (f >= k && (bestFree == null || f < free.get(bestFree.name()))) {
                bestFree = n;
            }
        }
        if (bestFree != null) {
            free.merge(bestFree.name(), -k, Integer::sum);
            return true;
        }
        List<Reservation> best = null;
        Capacity.Node bestNode = null;
        for (Capacity.Node n : fitting) {
            List<Reservation> chosen = victimsOn(n, r, k, g, free.get(n.name()), held, holders.getOrDefault(n.name(), List.of()),
                    victims.keySet());
            if (chosen != null && (best == null || chosen.size() < best.size()
                    || chosen.size() == best.size() && gpus(chosen) < gpus(best))) {
                best = chosen;
                bestNode = n;
                if (best.size() == 1 && gpus(best) <= k - mostFree) {
                    break; // one victim of the fewest GPUs any node misses: none can do better
                }
            }
        }
        if (best == null) {
            return false; // nothing borrowed to take back here: it waits as others do
        }
        for (Reservation v : best) {
            victims.put(v.id(), new Scheduler.Preemption(v.id(), java.time.Instant.ofEpochMilli(endsAt),
                    "another team takes back its guaranteed " + r.gpuType() + " GPUs"));
            held.merge(key(group(v), v.gpuType()), -v.gpuCount(), Integer::sum);
            for (var s : v.placement().slices()) {
                free.computeIfPresent(s.node(), (x, f) -> f + s.gpuCount());
            }
        }
        free.merge(bestNode.name(), -k, Integer::sum);
        return true;
    }

    /** The borrowers on this node to preempt so that k GPUs are free (as few as needed), or null when they cannot. */
    private static List<Reservation> victimsOn(Capacity.Node n, Reservation r, int k, Guarantees g, int free, Map<String, Integer> held,
                                               List<Reservation> onThisNode, Set<UUID> taken) {
        List<Reservation> candidates = new ArrayList<>();
        for (Reservation h : onThisNode) {
            if (h.status() == ReservationStatus.ACTIVE && !h.isPlaceholder() && !taken.contains(h.id()) && !group(h).equals(group(r))) {
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
            if (stillHeld.getOrDefault(key, 0) - h.gpuCount() < g.of(h.options().team(), h.gpuType())) {
                continue; // it runs within what its group is guaranteed: only what a group borrows is taken back
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
