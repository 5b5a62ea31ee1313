package dev.gpudev.core;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * One scheduling cycle: a pure decision over a snapshot, with no I/O. FIFO per GPU type: the oldest
 * waiting reservation of a type that does not fit blocks the younger ones of that type, so nobody
 * is starved by a stream of small requests.
 */
public final class Scheduler {

    /** What the cycle sees: capacity, and every reservation that holds GPUs now. */
    public record Snapshot(Capacity capacity, List<Reservation> holding) {
        public Snapshot {
            holding = List.copyOf(holding);
        }
    }

    public record Admission(UUID reservationId, Reservation.Placement placement) {
    }

    /** Why a reservation still waits, and its place in its type's line (1 = next). */
    public record Waiting(UUID reservationId, int position, PendingReason reason) {
    }

    public enum PendingReason { WAITING_FOR_CAPACITY, NO_CAPACITY_OF_TYPE }

    public record Plan(List<Admission> admissions, List<Waiting> waiting) {
    }

    public Plan plan(Snapshot snapshot, List<Reservation> queued, Instant now) {
        Map<String, Set<Integer>> free = freeGpus(snapshot);
        List<Admission> admissions = new ArrayList<>();
        List<Waiting> waiting = new ArrayList<>();
        Map<String, Integer> positions = new HashMap<>();
        Set<String> blockedTypes = new HashSet<>();
        List<Reservation> fifo = queued.stream()
                .sorted(Comparator.comparing(Reservation::createdAt).thenComparing(Reservation::id))
                .toList();
        for (Reservation r : fifo) {
            Reservation.Placement placement = blockedTypes.contains(r.gpuType()) ? null : place(snapshot.capacity(), free, r);
            if (placement != null) {
                admissions.add(new Admission(r.id(), placement));
                free.get(placement.node()).removeAll(placement.gpus());
            } else {
                blockedTypes.add(r.gpuType());
                int position = positions.merge(r.gpuType(), 1, Integer::sum);
                PendingReason reason = snapshot.capacity().totalGpus(r.gpuType()) == 0 && r.gpuCount() > 0
                        ? PendingReason.NO_CAPACITY_OF_TYPE : PendingReason.WAITING_FOR_CAPACITY;
                waiting.add(new Waiting(r.id(), position, reason));
            }
        }
        return new Plan(admissions, waiting);
    }

    private static Map<String, Set<Integer>> freeGpus(Snapshot snapshot) {
        Map<String, Set<Integer>> free = new LinkedHashMap<>();
        for (Capacity.Node node : snapshot.capacity().nodes()) {
            free.put(node.name(), new TreeSet<>(node.gpus()));
        }
        for (Reservation r : snapshot.holding()) {
            if (r.placement() != null && free.containsKey(r.placement().node())) {
                free.get(r.placement().node()).removeAll(r.placement().gpus());
            }
        }
        return free;
    }

    /** The first node of the right type with enough free GPUs; the lowest free indices on it. */
    private static Reservation.Placement place(Capacity capacity, Map<String, Set<Integer>> free, Reservation r) {
        for (Capacity.Node node : capacity.nodes()) {
            if (!node.gpuType().equals(r.gpuType())) {
                continue;
            }
            Set<Integer> available = free.get(node.name());
            if (available.size() >= r.gpuCount()) {
                return new Reservation.Placement(node.name(), available.stream().limit(r.gpuCount()).toList());
            }
        }
        return null;
    }
}
