package dev.gpudev.core;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;

/**
 * One scheduling cycle: a pure decision over a snapshot, with no I/O.
 *
 * <p>Reservations are taken oldest first. Each gets a slot in a simulated future: active ones end at
 * their {@code expires_at}, and every waiting one is planned at the earliest time its GPUs are free
 * for its whole duration, after the plans of all older ones. A slot that starts now is an admission;
 * any other is the reservation's estimated start. This is conservative backfill: a younger, smaller
 * reservation starts early only in a gap that delays no older one's planned start.
 *
 * <p>Per-user limits (GPUs at once, overall and per type) are timelines too, so a reservation held
 * back by its owner's limit is planned for when the owner's own reservations end, and holds nobody else back.
 */
public final class Scheduler {

    /** Concurrent GPUs a user may hold; 0 means no limit. */
    public record Limits(int maxGpusPerUser, Map<String, Integer> maxGpusPerUserPerType) {
        public Limits {
            maxGpusPerUserPerType = Map.copyOf(maxGpusPerUserPerType);
        }

        public static Limits none() {
            return new Limits(0, Map.of());
        }
    }

    /** What the cycle sees: capacity, and every reservation that holds GPUs now. */
    public record Snapshot(Capacity capacity, List<Reservation> holding) {
        public Snapshot {
            holding = List.copyOf(holding);
        }
    }

    public record Admission(UUID reservationId, Reservation.Placement placement) {
    }

    /** Why a reservation still waits, its place in its type's line (1 = next) and when it should start. */
    public record Waiting(UUID reservationId, int position, PendingReason reason, Instant estimatedStart) {
    }

    public enum PendingReason { WAITING_FOR_CAPACITY, USER_GPU_LIMIT, WAITING_FOR_DISK, NO_CAPACITY_OF_TYPE }

    public record Plan(List<Admission> admissions, List<Waiting> waiting) {
    }

    private final Limits limits;

    public Scheduler() {
        this(Limits.none());
    }

    public Scheduler(Limits limits) {
        this.limits = limits;
    }

    public Plan plan(Snapshot snapshot, List<Reservation> queued, Instant now) {
        return new Cycle(snapshot, now.toEpochMilli()).run(queued);
    }

    /**
     * A cycle kept for later arrivals. Older reservations are planned first and a newer one can only
     * use what they leave, so a pass whose only change is new arrivals plans just those on the kept
     * timelines: the same answer as planning everything again, without re-reading a deep queue.
     */
    public final class Planner {
        private final Cycle cycle;
        private final Plan first;

        private Planner(Snapshot snapshot, List<Reservation> queued, Instant now) {
            this.cycle = new Cycle(snapshot, now.toEpochMilli());
            this.first = cycle.run(queued);
        }

        /** The plan of the reservations it was started with. */
        public Plan plan() {
            return first;
        }

        /** Plans reservations newer than all planned so far. */
        public Plan append(List<Reservation> newer) {
            return cycle.run(newer);
        }

        /** Until when the plans hold: the first planned start of a waiting reservation (then it is due). */
        public Instant validUntil() {
            return Instant.ofEpochMilli(cycle.firstWaitingStart);
        }
    }

    public Planner start(Snapshot snapshot, List<Reservation> queued, Instant now) {
        return new Planner(snapshot, queued, now);
    }

    /** The state of one cycle; thrown away at its end. */
    private final class Cycle {
        private final long now;
        private final Map<String, List<Capacity.Node>> nodesByType = new HashMap<>();
        private final Map<String, Timeline> nodeTimelines = new HashMap<>();
        /**
         * Per type and GPU count k: the nodes ordered by the first time k of their GPUs are free,
         * a lower bound of any start there. A search visits nodes in that order and stops as soon as
         * the bound passes the best start found: usually after a handful of nodes, not all of them.
         */
        private final Map<String, Map<Integer, TreeSet<NodeEntry>>> byBound = new HashMap<>();
        private final Map<String, NodeEntry> entries = new HashMap<>();
        private final Map<String, Integer> largestNode = new HashMap<>();
        /** Per type and k: nodes ordered by the time k GPUs are free for good, an upper bound of any start there. */
        private final Map<String, Map<Integer, TreeSet<NodeEntry>>> byOpen = new HashMap<>();
        private final Map<String, TreeSet<Integer>> freeNow = new HashMap<>();
        private final Map<Long, Timeline> userTimelines = new HashMap<>();
        private final Map<String, Timeline> userTypeTimelines = new HashMap<>();
        private final List<Reservation> holding;

        Cycle(Snapshot snapshot, long now) {
            this.now = now;
            this.holding = snapshot.holding();
            for (Capacity.Node node : snapshot.capacity().nodes()) {
                nodesByType.computeIfAbsent(node.gpuType(), t -> new ArrayList<>()).add(node);
                largestNode.merge(node.gpuType(), node.gpus().size(), Math::max);
                nodeTimelines.put(node.name(), new Timeline(now, node.gpus().size()));
                freeNow.put(node.name(), new TreeSet<>(node.gpus()));
            }
            for (Reservation r : holding) {
                long end = endOf(r);
                if (r.placement() != null) {
                    for (var slice : r.placement().slices()) {
                        if (nodeTimelines.containsKey(slice.node())) {
                            nodeTimelines.get(slice.node()).reserve(now, end, slice.gpus().size());
                            freeNow.get(slice.node()).removeAll(slice.gpus());
                        }
                    }
                }
                userUse(r, now, end);
                if (r.options().disk() != null) {
                    diskBusyUntil.merge(diskKey(r), end, Math::max);
                }
            }
        }

        /** A named disk is the home of one reservation at a time. */
        private final Map<String, Long> diskBusyUntil = new HashMap<>();

        private static String diskKey(Reservation r) {
            return r.userId() + "/" + r.options().disk();
        }

        private long endOf(Reservation r) {
            long end = r.expiresAt() != null ? r.expiresAt().toEpochMilli() : now + millis(r.durationHours());
            return Math.max(end, now + 1);
        }

        private void userUse(Reservation r, long start, long end) {
            userTimeline(r).ifPresent(t -> t.reserve(start, end, r.gpuCount()));
            userTypeTimeline(r).ifPresent(t -> t.reserve(start, end, r.gpuCount()));
        }

        private java.util.Optional<Timeline> userTimeline(Reservation r) {
            if (limits.maxGpusPerUser() <= 0) {
                return java.util.Optional.empty();
            }
            return java.util.Optional.of(userTimelines.computeIfAbsent(r.userId(), u -> new Timeline(now, limits.maxGpusPerUser())));
        }

        private java.util.Optional<Timeline> userTypeTimeline(Reservation r) {
            Integer limit = limits.maxGpusPerUserPerType().get(r.gpuType());
            if (limit == null || limit <= 0) {
                return java.util.Optional.empty();
            }
            return java.util.Optional.of(userTypeTimelines.computeIfAbsent(r.userId() + "/" + r.gpuType(), k -> new Timeline(now, limit)));
        }

        /** Places in line per type, carried across runs of one cycle. */
        private final Map<String, Integer> positions = new LinkedHashMap<>();
        /** The earliest planned start among waiting reservations: when the plan must be made again. */
        long firstWaitingStart = Long.MAX_VALUE;

        Plan run(List<Reservation> queued) {
            List<Admission> admissions = new ArrayList<>();
            List<Waiting> waiting = new ArrayList<>();
            List<Reservation> fifo = queued.stream()
                    .sorted(Comparator.comparing(Reservation::createdAt).thenComparing(Reservation::id)).toList();
            for (Reservation r : fifo) {
                int k = r.gpuCount();
                long duration = millis(r.durationHours());
                int largest = largestNode.getOrDefault(r.gpuType(), -1);
                if (k > largest && largest > 0 && k % largest == 0 && wholeNodes(r, largest).size() >= k / largest) {
                    gang(r, k / largest, largest, duration, admissions, waiting, positions);
                    continue;
                }
                if (k > largest) {
                    waiting.add(new Waiting(r.id(), positions.merge(r.gpuType(), 1, Integer::sum), PendingReason.NO_CAPACITY_OF_TYPE, null));
                    continue;
                }
                if (userEarliest(r, k, duration, now) == Long.MAX_VALUE) {
                    // More GPUs than the user may ever hold at once: the submit check refuses these; never plan them.
                    waiting.add(new Waiting(r.id(), positions.merge(r.gpuType(), 1, Integer::sum), PendingReason.USER_GPU_LIMIT, null));
                    continue;
                }
                if (!r.options().nodeLabels().isEmpty() && labeled(r).stream().noneMatch(n -> n.gpus().size() >= k)) {
                    waiting.add(new Waiting(r.id(), positions.merge(r.gpuType(), 1, Integer::sum), PendingReason.NO_CAPACITY_OF_TYPE, null));
                    continue;
                }
                long capacityStart = earliest(r, k, duration, now).start;
                long diskFree = r.options().disk() == null ? now : Math.max(now, diskBusyUntil.getOrDefault(diskKey(r), now));
                long start = diskFree;
                Slot slot;
                while (true) {
                    start = Math.max(start, userEarliest(r, k, duration, start));
                    slot = earliest(r, k, duration, start);
                    long userOk = userEarliest(r, k, duration, slot.start);
                    if (userOk == slot.start) {
                        break;
                    }
                    start = userOk;
                }
                reserveOnNode(slot.node, slot.start, slot.start + duration, k);
                userUse(r, slot.start, slot.start + duration);
                if (r.options().disk() != null) {
                    diskBusyUntil.put(diskKey(r), slot.start + duration);
                }
                if (slot.start == now) {
                    TreeSet<Integer> free = freeNow.get(slot.node.name());
                    List<Integer> gpus = free.stream().limit(k).toList();
                    free.removeAll(gpus);
                    admissions.add(new Admission(r.id(), new Reservation.Placement(slot.node.name(), gpus)));
                } else {
                    PendingReason reason = diskFree > capacityStart ? PendingReason.WAITING_FOR_DISK
                            : capacityStart == now ? PendingReason.USER_GPU_LIMIT : PendingReason.WAITING_FOR_CAPACITY;
                    waiting.add(new Waiting(r.id(), positions.merge(r.gpuType(), 1, Integer::sum), reason, Instant.ofEpochMilli(slot.start)));
                }
            }
            for (Waiting w : waiting) {
                if (w.estimatedStart() != null) {
                    firstWaitingStart = Math.min(firstWaitingStart, w.estimatedStart().toEpochMilli());
                }
            }
            return new Plan(admissions, waiting);
        }

        private record Slot(Capacity.Node node, long start) {
        }

        private List<Capacity.Node> wholeNodes(Reservation r, int size) {
            return labeled(r).stream().filter(n -> n.gpus().size() == size).toList();
        }

        /** The nodes of the reservation's type that carry the labels it asks for. */
        private List<Capacity.Node> labeled(Reservation r) {
            List<Capacity.Node> all = nodesByType.getOrDefault(r.gpuType(), List.of());
            Map<String, String> wanted = r.options().nodeLabels();
            return wanted.isEmpty() ? all : all.stream().filter(n -> n.hasLabels(wanted)).toList();
        }

        /** The soonest slot: the indexed search, or a plain scan of the matching nodes when labels narrow them. */
        private Slot earliest(Reservation r, int k, long duration, long notBefore) {
            if (r.options().nodeLabels().isEmpty()) {
                return earliestOnNodes(r.gpuType(), k, duration, notBefore);
            }
            Capacity.Node best = null;
            long bestStart = Long.MAX_VALUE;
            int bestFree = Integer.MAX_VALUE;
            for (Capacity.Node node : labeled(r)) {
                if (node.gpus().size() < k) {
                    continue;
                }
                Timeline t = nodeTimelines.get(node.name());
                long s = t.earliest(k, duration, notBefore, Long.MAX_VALUE);
                int freeThen = s == Long.MAX_VALUE ? Integer.MAX_VALUE : t.freeAt(s);
                if (s < bestStart || (s == bestStart && freeThen < bestFree)) {
                    best = node;
                    bestStart = s;
                    bestFree = freeThen;
                }
            }
            return new Slot(best, bestStart);
        }

        /**
         * A distributed reservation: n whole nodes, all free at the same time for the whole duration
         * (gang scheduling), planned at the earliest such time after everything older.
         */
        private void gang(Reservation r, int n, int size, long duration, List<Admission> admissions, List<Waiting> waiting,
                          Map<String, Integer> positions) {
            List<Capacity.Node> nodes = wholeNodes(r, size);
            long t = userEarliest(r, r.gpuCount(), duration, now);
            List<Capacity.Node> chosen = new ArrayList<>();
            while (t != Long.MAX_VALUE) {
                chosen.clear();
                long next = Long.MAX_VALUE;
                for (Capacity.Node node : nodes) {
                    long s = nodeTimelines.get(node.name()).earliest(size, duration, t, Long.MAX_VALUE);
                    if (s == t) {
                        chosen.add(node);
                    } else {
                        next = Math.min(next, s);
                    }
                }
                if (chosen.size() >= n) {
                    long userOk = userEarliest(r, r.gpuCount(), duration, t);
                    if (userOk == t) {
                        break;
                    }
                    next = userOk;
                }
                t = next;
            }
            if (t == Long.MAX_VALUE) {
                waiting.add(new Waiting(r.id(), positions.merge(r.gpuType(), 1, Integer::sum), PendingReason.NO_CAPACITY_OF_TYPE, null));
                return;
            }
            List<Reservation.Placement.Slice> slices = new ArrayList<>();
            for (Capacity.Node node : chosen.subList(0, n)) {
                reserveOnNode(node, t, t + duration, size);
                if (t == now) {
                    TreeSet<Integer> free = freeNow.get(node.name());
                    slices.add(new Reservation.Placement.Slice(node.name(), List.copyOf(free), null, null));
                    free.clear();
                }
            }
            userUse(r, t, t + duration);
            if (t == now) {
                admissions.add(new Admission(r.id(), new Reservation.Placement(slices)));
            } else {
                waiting.add(new Waiting(r.id(), positions.merge(r.gpuType(), 1, Integer::sum), PendingReason.WAITING_FOR_CAPACITY,
                        Instant.ofEpochMilli(t)));
            }
        }

        /** A node with its lower bounds, one per GPU count asked for in this cycle. */
        private static final class NodeEntry {
            final Capacity.Node node;
            final Timeline timeline;
            final int index;
            /** bounds[k]: first time k GPUs are free; -1 while k is not in use this cycle. */
            final long[] bounds;
            /** openFrom[k]: from then on k GPUs stay free; gap[k]: the longest stretch of k free GPUs before that. */
            final long[] openFrom;
            final long[] gap;

            NodeEntry(Capacity.Node node, Timeline timeline, int index) {
                this.node = node;
                this.timeline = timeline;
                this.index = index;
                this.bounds = new long[node.gpus().size() + 1];
                this.openFrom = new long[node.gpus().size() + 1];
                this.gap = new long[node.gpus().size() + 1];
                java.util.Arrays.fill(bounds, -1);
            }
        }

        private TreeSet<NodeEntry> ordered(String type, int k) {
            return byBound.computeIfAbsent(type, t -> new HashMap<>()).computeIfAbsent(k, kk -> {
                TreeSet<NodeEntry> set = new TreeSet<>(Comparator.<NodeEntry>comparingLong(e -> e.bounds[kk]).thenComparingInt(e -> e.index));
                List<Capacity.Node> nodes = nodesByType.getOrDefault(type, List.of());
                for (int i = 0; i < nodes.size(); i++) {
                    Capacity.Node node = nodes.get(i);
                    if (node.gpus().size() < kk) {
                        continue;
                    }
                    NodeEntry e = entry(node);
                    e.bounds[kk] = e.timeline.firstAtLeast(kk);
                    e.openFrom[kk] = e.timeline.openFrom(kk);
                    e.gap[kk] = e.timeline.longestGap(kk);
                    if (e.gap[kk] > 0) {
                        set.add(e); // without a gap, a node's first free moment is its open stretch: byOpen has it
                    }
                    open(type, kk).add(e);
                }
                return set;
            });
        }

        private NodeEntry entry(Capacity.Node node) {
            NodeEntry existing = entries.get(node.name());
            if (existing != null) {
                return existing;
            }
            NodeEntry e = new NodeEntry(node, nodeTimelines.get(node.name()), entries.size());
            entries.put(node.name(), e);
            return e;
        }

        private TreeSet<NodeEntry> open(String type, int k) {
            return byOpen.computeIfAbsent(type, t -> new HashMap<>()).computeIfAbsent(k, kk -> new TreeSet<>(
                    Comparator.<NodeEntry>comparingLong(x -> x.openFrom[kk]).thenComparingInt(x -> x.index)));
        }

        /** Reserves on a node and moves it to its new place in every ordering of its type. */
        private void reserveOnNode(Capacity.Node node, long start, long end, int k) {
            NodeEntry e = entries.get(node.name());
            Map<Integer, TreeSet<NodeEntry>> sets = byBound.getOrDefault(node.gpuType(), Map.of());
            for (var set : sets.entrySet()) {
                if (e != null && e.bounds[set.getKey()] >= 0) {
                    if (e.gap[set.getKey()] > 0) {
                        set.getValue().remove(e);
                    }
                    open(node.gpuType(), set.getKey()).remove(e);
                }
            }
            nodeTimelines.get(node.name()).reserve(start, end, k);
            for (var set : sets.entrySet()) {
                int kk = set.getKey();
                if (e != null && e.bounds[kk] >= 0) {
                    long oldBound = e.bounds[kk];
                    long oldOpen = e.openFrom[kk];
                    e.bounds[kk] = oldBound == Long.MAX_VALUE ? oldBound : e.timeline.firstAtLeast(kk, oldBound);
                    e.openFrom[kk] = e.timeline.openFrom(kk);
                    // Placed in the open stretch: the gaps before it stand, only what follows is new.
                    e.gap[kk] = start >= oldOpen ? Math.max(e.gap[kk], e.timeline.longestGap(kk, oldOpen)) : e.timeline.longestGap(kk);
                    if (e.gap[kk] > 0) {
                        set.getValue().add(e);
                    }
                    open(node.gpuType(), kk).add(e);
                }
            }
        }

        /** The node where k GPUs are free soonest (at or after notBefore) for the duration; best fit among those free then. */
        private Slot earliestOnNodes(String type, int k, long duration, long notBefore) {
            Capacity.Node best = null;
            long bestStart = Long.MAX_VALUE;
            int bestFree = Integer.MAX_VALUE;
            TreeSet<NodeEntry> candidates = ordered(type, k);
            // Start from sure answers: where k GPUs are free for good soonest. Among those free then, the best fit.
            for (NodeEntry e : open(type, k)) {
                long s = Math.max(e.openFrom[k], notBefore);
                if (s > bestStart) {
                    break;
                }
                int freeThen = e.timeline.freeAt(s);
                if (s < bestStart || freeThen < bestFree) {
                    best = e.node;
                    bestStart = s;
                    bestFree = freeThen;
                }
                if (s > notBefore || freeThen == k) {
                    break; // later ties only matter for the fit of what starts now
                }
            }
            // Then gaps before those: only nodes whose earliest free moment is sooner, and whose gaps are long enough.
            for (NodeEntry e : candidates) {
                long bound = Math.max(e.bounds[k], notBefore);
                if (bound > bestStart || (bound == bestStart && bestStart != notBefore)) {
                    break; // every node from here on starts later: the orderings are by lower bound
                }
                if (e.gap[k] < duration) {
                    continue; // no gap fits: its answer is its open stretch, already weighed above
                }
                long s = e.timeline.earliest(k, duration, bound, bestStart == notBefore ? notBefore + 1 : bestStart);
                if (s == Long.MAX_VALUE) {
                    continue;
                }
                int freeThen = e.timeline.freeAt(s);
                if (s < bestStart || (s == bestStart && freeThen < bestFree)) {
                    best = e.node;
                    bestStart = s;
                    bestFree = freeThen;
                    if (s == notBefore && freeThen == k) {
                        break; // a perfect fit at the earliest possible time: nothing can be better
                    }
                }
            }
            return new Slot(best, bestStart);
        }

        private long userEarliest(Reservation r, int k, long duration, long notBefore) {
            Timeline overall = userTimeline(r).orElse(null);
            Timeline perType = userTypeTimeline(r).orElse(null);
            long t = notBefore;
            while (true) {
                long next = overall == null ? t : overall.earliest(k, duration, t, Long.MAX_VALUE);
                next = perType == null || next == Long.MAX_VALUE ? next : perType.earliest(k, duration, next, Long.MAX_VALUE);
                if (next == t || next == Long.MAX_VALUE) {
                    return next;
                }
                t = next;
            }
        }
    }

    static long millis(java.math.BigDecimal hours) {
        return Extension.toDuration(hours).toMillis();
    }

}
