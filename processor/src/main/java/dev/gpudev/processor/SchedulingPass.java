package dev.gpudev.processor;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import dev.gpudev.core.Transition;
import dev.gpudev.store.ReservationQueue;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * A scheduling pass under the scheduler's lock: one replica decides at a time, on one snapshot.
 *
 * <p>The last plan is kept between passes. A new arrival never changes the plans of those before it
 * (they are planned first), so while nothing else changed (same GPUs, same holders, no command but
 * creates, no sweep, no other replica scheduling, no planned start due) a pass plans only its new
 * arrivals on the kept timelines instead of re-reading and re-planning the whole queue. Any other
 * change plans everything again from the database.
 *
 * <p>At least every {@link #FULL_PLAN_EVERY} (or when a planned start is due) everything is planned
 * again, from the waiting reservations kept in memory (those read, plus arrivals since) rather than
 * read again, and only what changed is written: while nothing but arrivals happened, a pass's database
 * work does not grow with the depth of the queue. The queue is read again at least every
 * {@link #FULL_READ_EVERY}, and after anything this replica did not see. Reservations are planned in
 * the order this processor first planned them (arrivals by creation), so planning again moves no one.
 */
final class SchedulingPass {
    static final Duration FULL_PLAN_EVERY = Duration.ofSeconds(60);
    static final Duration FULL_READ_EVERY = Duration.ofMinutes(10);

    private final Parts p;
    private final Scheduler scheduler;
    private Scheduler.Planner planner;
    private Basis plannedBasis;
    private Instant plannedAt;
    private long plannedEpoch = -1;
    private final Set<UUID> arrivals = new LinkedHashSet<>();
    /** The waiting reservations the planner holds, in the order planned; null when they must be read again. */
    private List<Reservation> kept;
    private Instant keptReadAt;
    /** Each waiting reservation's place in the order it was first planned in (survives a re-read). */
    private Map<UUID, Long> order = new HashMap<>();
    private long nextOrder;
    /** What the database holds of each waiting reservation's queue fields (read, then as written). */
    private Map<UUID, Reservation.Queue> stored = new HashMap<>();
    private boolean replan = true;
    long fullPlans;
    long incrementalPlans;
    /** Passes that planned everything again from the kept queue, without reading it. */
    long memoryPlans;
    /** The last pass: how many it planned, and its reading, planning and writing times (ms), for the slow-cycle log. */
    String lastPass = "";
    private int lastWritten;

    SchedulingPass(Parts parts, ProcessorSettings settings) {
        this.p = parts;
        this.scheduler = new Scheduler(settings.limits(), settings.grace());
    }

    /** What a plan was made on: the nodes and what every holder has (not when it was last active). */
    private record Basis(Capacity capacity, List<Held> holding) {
    }

    private record Held(UUID id, ReservationStatus status, int gpus, java.math.BigDecimal hours, Instant launchedAt,
                        Instant expiresAt, List<String> nodes, Long disk) {
        static Held of(Reservation r) {
            return new Held(r.id(), r.status(), r.gpuCount(), r.durationHours(), r.launchedAt(), r.expiresAt(),
                    r.placement() == null ? List.of() : r.placement().slices().stream().map(Reservation.Placement.Slice::node).toList(),
                    r.options().diskId());
        }
    }

    void arrived(Collection<UUID> ids) {
        arrivals.addAll(ids);
    }

    /** Something besides arrivals changed: the next pass plans everything. */
    void replan() {
        replan = true;
    }

    private void forget() {
        planner = null;
        plannedBasis = null;
        kept = null;
        replan = true;
    }

    void run(LiveSet live, Capacity capacity) {
        Set<UUID> news = new LinkedHashSet<>(arrivals);
        arrivals.clear();
        lastPass = "";
        try {
            List<Reservation> admitted = p.db().inTransaction(c -> pass(c, live, capacity, news));
            admitted.forEach(live::put);
        } catch (RuntimeException e) {
            forget();
            throw e;
        }
    }

    private List<Reservation> pass(Connection c, LiveSet live, Capacity capacity, Set<UUID> news) throws SQLException {
        if (!p.schedulerState().tryLock(c)) {
            forget(); // another replica is scheduling now, with rows this one has not seen
            return List.of();
        }
        long epoch = p.schedulerState().nextEpoch(c);
        if (epoch != plannedEpoch + 1) {
            // Another replica scheduled since this one last did: what it admitted may have committed after
            // this cycle read its live rows. Read them again, under the lock, so no GPU is placed twice.
            live.replaceAll(p.reservations().withStatus(c, false, LiveSet.states()));
        }
        List<Reservation> holding = live.all();
        Instant now = p.clock().instant();
        Basis basis = new Basis(capacity, holding.stream().map(Held::of).toList());
        boolean unchanged = !replan && planner != null && epoch == plannedEpoch + 1 && basis.equals(plannedBasis)
                && !now.isBefore(plannedAt);
        boolean incremental = unchanged && now.isBefore(plannedAt.plus(FULL_PLAN_EVERY)) && now.isBefore(planner.validUntil());
        boolean fromMemory = unchanged && !incremental && kept != null && now.isBefore(keptReadAt.plus(FULL_READ_EVERY));
        plannedEpoch = epoch;
        if (unchanged && kept != null) {
            news.removeIf(order::containsKey); // read with the queue before its command was applied: planned already
        }
        List<Reservation> queued;
        Scheduler.Plan plan;
        long r0 = System.nanoTime();
        long r1;
        if (incremental) {
            queued = inOrder(p.reservations().queuedAmong(c, news));
            if (queued.isEmpty()) {
                return List.of();
            }
            r1 = System.nanoTime();
            plan = planner.append(queued);
            kept.addAll(queued);
            incrementalPlans++;
        } else {
            if (fromMemory) {
                // Time passed, nothing else: plan again what is kept, with the arrivals since, unread.
                queued = new ArrayList<>(kept);
                queued.addAll(inOrder(p.reservations().queuedAmong(c, news)));
                memoryPlans++;
            } else {
                queued = p.reservations().withStatus(c, false, ReservationStatus.QUEUED);
                stored = new HashMap<>();
                queued.forEach(q -> stored.put(q.id(), q.queue()));
                order.keySet().retainAll(stored.keySet());
                queued = inOrder(queued);
                keptReadAt = now;
                fullPlans++;
            }
            forget();
            r1 = System.nanoTime();
            planner = scheduler.startInOrder(new Scheduler.Snapshot(capacity, holding), queued, now);
            plan = planner.plan();
            kept = new ArrayList<>(queued);
            plannedBasis = basis;
            plannedAt = now;
            replan = false;
        }
        long r2 = System.nanoTime();
        List<Reservation> admitted = write(c, plan, queued, now);
        lastPass = queued.size() + " planned: read " + (r1 - r0) / 1_000_000 + " ms, plan " + (r2 - r1) / 1_000_000
                + " ms, write " + lastWritten + " rows in " + (System.nanoTime() - r2) / 1_000_000 + " ms";
        if (!admitted.isEmpty()) {
            forget(); // the holders change: the next pass plans on them
        }
        return admitted;
    }

    /**
     * Waiting reservations in the order this processor first planned them; those it never planned after
     * them, in the order their stored places say (a processor that just started, or took over, keeps
     * the order the one before it planned), the unplanned last, by creation.
     */
    private List<Reservation> inOrder(List<Reservation> rows) {
        List<Reservation> known = new ArrayList<>();
        List<Reservation> fresh = new ArrayList<>();
        for (Reservation r : rows) {
            (order.containsKey(r.id()) ? known : fresh).add(r);
        }
        known.sort(java.util.Comparator.comparingLong(r -> order.get(r.id())));
        fresh = byStoredPlace(fresh);
        for (Reservation r : fresh) {
            order.put(r.id(), nextOrder++);
        }
        known.addAll(fresh);
        return known;
    }

    /**
     * By creation across types (a user's limit is shared by them), and within each type by the place a
     * plan gave it (positions are per type), those without one last by creation.
     */
    static List<Reservation> byStoredPlace(List<Reservation> rows) {
        List<Reservation> byCreation = new ArrayList<>(rows);
        byCreation.sort(Scheduler.fifo());
        Map<String, List<Reservation>> perType = new HashMap<>();
        for (Reservation r : byCreation) {
            perType.computeIfAbsent(r.gpuType(), t -> new ArrayList<>()).add(r);
        }
        Map<String, java.util.Iterator<Reservation>> next = new HashMap<>();
        perType.forEach((type, list) -> {
            list.sort(java.util.Comparator.comparing((Reservation r) -> r.queuePosition(),
                    java.util.Comparator.nullsLast(java.util.Comparator.naturalOrder())).thenComparing(Scheduler.fifo()));
            next.put(type, list.iterator());
        });
        List<Reservation> out = new ArrayList<>(byCreation.size());
        for (Reservation r : byCreation) {
            out.add(next.get(r.gpuType()).next());
        }
        return out;
    }

    private List<Reservation> write(Connection c, Scheduler.Plan plan, List<Reservation> queued, Instant now) throws SQLException {
        List<Reservation> admitted = new ArrayList<>();
        for (var admission : plan.admissions()) {
            // A cancel applied by another replica since the queue was read wins: the admission is dropped.
            p.reservations().transition(c, admission.reservationId(), ReservationStatus.QUEUED, Transition.admit(admission.placement()), now)
                    .ifPresent(admitted::add);
            order.remove(admission.reservationId());
            stored.remove(admission.reservationId());
        }
        Map<UUID, Reservation> byId = new HashMap<>();
        queued.forEach(q -> byId.put(q.id(), q));
        List<ReservationQueue.Waiting> changed = new ArrayList<>();
        for (var w : plan.waiting()) {
            Reservation before = byId.get(w.reservationId());
            var queue = new Reservation.Queue(w.position(), w.reason().name(), w.estimatedStart(), w.nodes());
            Reservation.Queue was = stored.containsKey(w.reservationId()) ? stored.get(w.reservationId())
                    : before == null ? null : before.queue();
            if (queue.equals(was)) {
                continue; // unchanged: in a deep queue most are
            }
            stored.put(w.reservationId(), queue);
            changed.add(new ReservationQueue.Waiting(w.reservationId(), queue, detail(w, before)));
        }
        p.reservations().queue().setWaiting(c, changed);
        lastWritten = changed.size() + admitted.size();
        return admitted;
    }

    private static String detail(Scheduler.Waiting w, Reservation before) {
        return switch (w.reason()) {
            case WAITING_FOR_CAPACITY -> "waiting for GPUs, position " + w.position()
                    + ", expected to start " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart());
            case USER_GPU_LIMIT -> "waiting: you hold your GPU limit"
                    + (w.estimatedStart() == null ? "" : "; expected to start " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart()));
            case WAITING_FOR_DISK -> "waiting for disk " + (before == null ? "" : before.options().disk())
                    + " (in use by another reservation of yours); expected to start " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart());
            case NO_CAPACITY_OF_TYPE -> "no node of this GPU type (with the labels asked for) can hold it";
        };
    }
}
