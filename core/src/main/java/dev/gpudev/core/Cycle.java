package dev.gpudev.core;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One scheduling cycle over a snapshot; kept by a {@link Scheduler.Planner} for later arrivals, else thrown away. */
final class Cycle {
    private final long now;
    private final long grace;
    private final Scheduler.Limits limits;
    private final Capacity capacity;
    private final FairShare fairShare;
    private final NodeIndex nodes;
    private final UserQuota quota;
    private final Gang gang;
    /** A named disk is the home of one reservation at a time: until when each is taken. */
    private final Map<String, Long> diskBusyUntil = new HashMap<>();
    /** Places in line per type, carried across runs of one cycle. */
    private final Map<String, Integer> positions = new LinkedHashMap<>();
    /** What can never fit, decided once per shape of request in a cycle. */
    private final Map<String, Feasibility.Verdict> verdicts = new HashMap<>();
    private long firstWaitingStart = Long.MAX_VALUE;
    /** How long ahead a preempted reservation is told its end. */
    private final long notice;
    /** Preemptible holders not preempted yet: their GPUs count as free from {@link #reclaimable()} for those with a better claim. */
    private final List<Reservation> soft = new ArrayList<>();
    private final List<Scheduler.Preemption> preemptions = new ArrayList<>();
    private boolean victimsDecided;
    /** A preemption is decided when the GPUs are wanted within this of the earliest they can be had. */
    static final long PREEMPT_MARGIN = 2 * 60_000;

    /** @param reclaimed holders preempted for teams' guarantees (see {@link Reclaim}): they end when told */
    Cycle(Scheduler.Snapshot snapshot, long now, Scheduler.Limits limits, long grace, long notice, Map<java.util.UUID, Scheduler.Preemption> reclaimed) {
        this.now = now;
        this.grace = grace;
        this.notice = notice;
        this.limits = limits;
        this.capacity = snapshot.capacity();
        this.fairShare = snapshot.fairShare();
        this.nodes = new NodeIndex(capacity, now);
        this.quota = new UserQuota(limits, now);
        this.gang = new Gang(nodes, quota);
        reclaimed.values().stream().sorted(Comparator.comparing(Scheduler.Preemption::reservationId)).forEach(preemptions::add);
        for (Reservation r : snapshot.holding()) {
            Scheduler.Preemption taken = reclaimed.get(r.id());
            long end = taken != null ? taken.endsAt().toEpochMilli() + grace : freedAt(r);
            boolean reclaimable = taken == null && r.options().priority().preemptible() && r.status() == ReservationStatus.ACTIVE
                    && r.lifecycle().preemptedAt() == null && end > reclaimable();
            if (reclaimable) {
                soft.add(r);
            }
            if (r.placement() != null) {
                for (var slice : r.placement().slices()) {
                    if (nodes.has(slice.node())) {
                        nodes.timeline(slice.node()).reserve(now, reclaimable ? reclaimable() : end, slice.gpuCount());
                    }
                }
            }
            quota.use(r, now, end);
            if (r.options().disk() != null) {
                diskBusyUntil.merge(diskKey(r), end, Math::max);
            }
        }
    }

    /** First come, first served: by creation, ties by id. */
    static final Comparator<Reservation> FIFO = Comparator.comparing(Reservation::createdAt).thenComparing(Reservation::id);

    long firstWaitingStart() {
        return firstWaitingStart;
    }

    boolean preemptibleHeld() {
        return !soft.isEmpty();
    }

    /** When a preemptible holder's GPUs can be had at the earliest: told now, ended the notice later, freed a grace later. */
    private long reclaimable() {
        return now + notice + grace;
    }

    /**
     * After everyone with a better claim was planned (their plans took the preemptible holders' GPUs from
     * {@link #reclaimable()} where they needed them): each preemptible holder, the oldest first, keeps
     * its GPUs for as long as no plan needs them. One whose GPUs are wanted within {@link #PREEMPT_MARGIN}
     * of the earliest they can be had is preempted now; one wanted only later runs on and is looked at
     * again by the next plans. So the youngest go first, and none goes that no plan needs.
     */
    private void decideVictims() {
        if (victimsDecided) {
            return;
        }
        victimsDecided = true;
        long from = reclaimable();
        List<Reservation> oldestFirst = new ArrayList<>(soft);
        oldestFirst.sort(Comparator.comparing((Reservation r) -> r.launchedAt() == null ? r.createdAt() : r.launchedAt()).thenComparing(Reservation::id));
        for (Reservation r : oldestFirst) {
            long end = freedAt(r);
            long wanted = Long.MAX_VALUE;
            for (var slice : r.placement().slices()) {
                if (nodes.has(slice.node())) {
                    wanted = Math.min(wanted, nodes.timeline(slice.node()).freeUntil(slice.gpuCount(), from));
                }
            }
            long keep = Math.min(end, wanted);
            for (var slice : r.placement().slices()) {
                if (nodes.has(slice.node())) {
                    nodes.reserve(nodes.node(slice.node()), from, keep, slice.gpuCount());
                }
            }
            if (wanted < end && wanted <= from + PREEMPT_MARGIN) {
                preemptions.add(new Scheduler.Preemption(r.id(), Instant.ofEpochMilli(Math.max(now + notice, wanted - grace))));
            }
        }
    }

    /** When a holder's GPUs are free again: its end plus the grace period (not before the next moment). */
    private long freedAt(Reservation r) {
        long end = r.expiresAt() != null ? r.expiresAt().toEpochMilli() : now + Scheduler.millis(r.durationHours());
        return Math.max(end + grace, now + 1);
    }

    private static String diskKey(Reservation r) {
        return r.options().diskId() != null ? "#" + r.options().diskId() : r.userId() + "/" + r.options().disk();
    }

    Scheduler.Plan run(List<Reservation> queued) {
        return run(queued, false);
    }

    /** In fair-share order; or, with {@code inGivenOrder}, in the order given (a processor's kept queue, in that order). */
    Scheduler.Plan run(List<Reservation> queued, boolean inGivenOrder) {
        List<Scheduler.Admission> admissions = new ArrayList<>();
        List<Scheduler.Waiting> waiting = new ArrayList<>();
        List<Reservation> ordered = inGivenOrder ? queued : fairShare.sorted(queued);
        for (Reservation r : ordered) {
            if (r.options().priority().preemptible()) {
                decideVictims(); // everyone with a better claim is planned
            }
            long hold = Scheduler.millis(r.durationHours()) + grace;
            switch (verdict(r)) {
                case Feasibility.Verdict.Never never -> waiting.add(waitingFor(r, never.reason() == Feasibility.Reason.USER_GPU_LIMIT
                        ? Scheduler.PendingReason.USER_GPU_LIMIT : Scheduler.PendingReason.NO_CAPACITY_OF_TYPE, null, List.of()));
                case Feasibility.Verdict.Fits fits when fits.wholeNodes() -> {
                    var nodesOfSize = labeled(r).stream().filter(n -> n.gpus().size() == fits.perNode()).toList();
                    long t = gang.earliest(r, nodesOfSize, fits.nodes(), fits.perNode(), hold, diskFree(r));
                    if (t == Long.MAX_VALUE) {
                        waiting.add(waitingFor(r, Scheduler.PendingReason.NO_CAPACITY_OF_TYPE, null, List.of()));
                        continue;
                    }
                    List<String> before = r.queue() == null ? List.of() : r.queue().plannedNodes();
                    List<Reservation.Placement.Slice> slices = gang.take(nodesOfSize, fits.nodes(), fits.perNode(), t, hold, before);
                    quota.use(r, t, t + hold);
                    takeDisk(r, t + hold);
                    if (t == now) {
                        admissions.add(new Scheduler.Admission(r.id(), new Reservation.Placement(slices)));
                    } else {
                        waiting.add(waitingFor(r, t == bookedStart(r) ? Scheduler.PendingReason.BOOKED : Scheduler.PendingReason.WAITING_FOR_CAPACITY,
                                Instant.ofEpochMilli(t), slices.stream().map(Reservation.Placement.Slice::node).toList()));
                    }
                }
                case Feasibility.Verdict.Fits fits -> single(r, r.gpuCount(), hold, admissions, waiting);
            }
        }
        decideVictims();
        for (Scheduler.Waiting w : waiting) {
            if (w.estimatedStart() != null) {
                firstWaitingStart = Math.min(firstWaitingStart, w.estimatedStart().toEpochMilli());
            }
        }
        List<Scheduler.Preemption> decided = List.copyOf(preemptions);
        preemptions.clear();
        return new Scheduler.Plan(admissions, waiting, decided);
    }

    private Feasibility.Verdict verdict(Reservation r) {
        String key = r.gpuType() + "/" + r.gpuCount() + "/" + r.options().distributed() + "/" + r.options().nodeLabels();
        return verdicts.computeIfAbsent(key, k -> Feasibility.of(r.gpuType(), r.gpuCount(), r.options().distributed(),
                r.options().nodeLabels(), capacity, limits));
    }

    /** One node: the earliest slot where the GPUs, the owner's allowance and the disk are all free. */
    private void single(Reservation r, int k, long hold, List<Scheduler.Admission> admissions, List<Scheduler.Waiting> waiting) {
        long diskFree = diskFree(r);
        long start = diskFree;
        NodeIndex.Slot slot;
        long capacityStart = -1; // when the GPUs alone would allow it: only for the pending reason
        while (true) {
            start = Math.max(start, quota.earliest(r, k, hold, start));
            slot = earliest(r, k, hold, start);
            if (start == now && capacityStart < 0) {
                capacityStart = slot.start();
            }
            long userOk = quota.earliest(r, k, hold, slot.start());
            if (userOk == slot.start()) {
                break;
            }
            start = userOk;
        }
        if (slot.node() == null) {
            waiting.add(waitingFor(r, Scheduler.PendingReason.NO_CAPACITY_OF_TYPE, null, List.of()));
            return;
        }
        if (slot.start() != now && r.options().priority().preemptible() && diskFree == now && quota.earliest(r, k, hold, now) == now) {
            // GPUs idle now but planned for someone later: a preemptible reservation may run there until they are wanted
            NodeIndex.Slot idle = earliest(r, k, notice + grace, now);
            if (idle.node() != null && idle.start() == now) {
                nodes.reserve(idle.node(), now, now + notice + grace, k);
                quota.use(r, now, now + hold);
                takeDisk(r, now + hold);
                admissions.add(new Scheduler.Admission(r.id(), Reservation.Placement.of(idle.node().name(), k)));
                return;
            }
        }
        slot = keptWhereItWas(r, k, hold, slot);
        if (slot.start() != now && capacityStart < 0) {
            capacityStart = earliest(r, k, hold, now).start(); // before this placement changes the answer
        }
        nodes.reserve(slot.node(), slot.start(), slot.start() + hold, k);
        quota.use(r, slot.start(), slot.start() + hold);
        takeDisk(r, slot.start() + hold);
        if (slot.start() == now) {
            admissions.add(new Scheduler.Admission(r.id(), Reservation.Placement.of(slot.node().name(), k)));
        } else {
            Scheduler.PendingReason reason = slot.start() == bookedStart(r) ? Scheduler.PendingReason.BOOKED
                    : r.options().booked() ? Scheduler.PendingReason.WAITING_FOR_CAPACITY // late: its GPUs are held past its start
                    : diskFree > capacityStart ? Scheduler.PendingReason.WAITING_FOR_DISK
                    : capacityStart == now ? Scheduler.PendingReason.USER_GPU_LIMIT : Scheduler.PendingReason.WAITING_FOR_CAPACITY;
            waiting.add(waitingFor(r, reason, Instant.ofEpochMilli(slot.start()), List.of(slot.node().name())));
        }
    }

    /**
     * The node the last plan chose, when it still offers the same start: the choice among equal starts
     * (best fit) depends on what younger reservations did meanwhile, and a plan that moved an older
     * reservation for that would change the estimates of everyone planned after it.
     */
    private NodeIndex.Slot keptWhereItWas(Reservation r, int k, long hold, NodeIndex.Slot best) {
        List<String> before = r.queue() == null ? List.of() : r.queue().plannedNodes();
        if (before.size() != 1 || before.getFirst().equals(best.node().name()) || !nodes.has(before.getFirst())) {
            return best;
        }
        for (Capacity.Node n : labeled(r)) {
            if (n.name().equals(before.getFirst()) && n.gpus().size() >= k
                    && nodes.timeline(n.name()).earliest(k, hold, best.start(), best.start() + 1) == best.start()) {
                return new NodeIndex.Slot(n, best.start());
            }
        }
        return best;
    }

    /** Not before its disk is free, nor before its booked start. */
    private long diskFree(Reservation r) {
        long booked = r.options().startAt() == null ? now : Math.max(now, r.options().startAt().toEpochMilli());
        return r.options().disk() == null ? booked : Math.max(booked, diskBusyUntil.getOrDefault(diskKey(r), now));
    }

    private static long bookedStart(Reservation r) {
        return r.options().startAt() == null ? Long.MIN_VALUE : r.options().startAt().toEpochMilli();
    }

    private void takeDisk(Reservation r, long until) {
        if (r.options().disk() != null) {
            diskBusyUntil.put(diskKey(r), until);
        }
    }

    private Scheduler.Waiting waitingFor(Reservation r, Scheduler.PendingReason reason, Instant start, List<String> planned) {
        return new Scheduler.Waiting(r.id(), positions.merge(r.gpuType(), 1, Integer::sum), reason, start, planned);
    }

    /** The nodes of the reservation's type that carry the labels it asks for. */
    private List<Capacity.Node> labeled(Reservation r) {
        List<Capacity.Node> all = nodes.nodes(r.gpuType());
        Map<String, String> wanted = r.options().nodeLabels();
        return wanted.isEmpty() ? all : all.stream().filter(n -> n.hasLabels(wanted)).toList();
    }

    /** The soonest slot: the indexed search, or a plain scan of the matching nodes when labels narrow them. */
    private NodeIndex.Slot earliest(Reservation r, int k, long duration, long notBefore) {
        if (r.options().nodeLabels().isEmpty()) {
            return nodes.earliest(r.gpuType(), k, duration, notBefore);
        }
        return nodes.earliestAmong(labeled(r), k, duration, notBefore);
    }
}
