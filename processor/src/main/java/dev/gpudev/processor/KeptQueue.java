package dev.gpudev.processor;

import dev.gpudev.core.FairShare;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import dev.gpudev.store.ReservationQueue;
import dev.gpudev.store.Reservations;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The waiting reservations the scheduling pass plans, kept between passes so that a pass need not read
 * the whole queue again: in fair-share order (see {@link FairShare}; the order of two kept ones changes
 * only when the standings are computed again), with what the database holds of each one's queue fields
 * so that a pass writes only what changed, and at most {@link #WRITES_PER_PASS} rows of it: an arrival
 * that goes ahead of many moves the places of all behind it, and those are written over the next passes,
 * nearest the front first. Read again at least every {@link #FULL_READ_EVERY}, and whenever the kept
 * list was dropped.
 */
final class KeptQueue {
    static final Duration FULL_READ_EVERY = Duration.ofMinutes(10);
    /** Queue rows a pass writes at most: its database work does not grow with the depth of the queue. */
    static final int WRITES_PER_PASS = 1000;

    private final Reservations reservations;
    private FairShare standings = FairShare.none();
    private Comparator<Reservation> order = standings.order();
    /** The waiting reservations, in order; null when they must be read again. */
    private List<Reservation> kept;
    private Instant readAt;
    /** The ids in the kept list (an arrival read with the queue before its command was applied is not planned twice). */
    private final Set<UUID> planned = new HashSet<>();
    /** What the database holds of each waiting reservation's queue fields (read, then as written). */
    private Map<UUID, Reservation.Queue> stored = new HashMap<>();
    /** Whether the kept list is in order (false while arrivals that belong further ahead wait behind everyone). */
    private boolean appendedInOrder = true;
    /** Changes planned but not written yet, nearest the front first. */
    private final LinkedHashMap<UUID, Unwritten> unwritten = new LinkedHashMap<>();

    /**
     * A change planned and not written: its words are made only when it is taken to be written (a plan of
     * everything changes every row's place, but a pass writes at most {@link #WRITES_PER_PASS}).
     */
    private record Unwritten(Scheduler.Waiting w, Reservation.Queue queue, Reservation before, int overtaken, int claimed) {
        ReservationQueue.Waiting waiting() {
            return new ReservationQueue.Waiting(w.reservationId(), queue, detail(w, before, overtaken, claimed));
        }
    }

    KeptQueue(Reservations reservations) {
        this.reservations = reservations;
    }

    /** The order from now on (standings computed again): the kept list is sorted by it. */
    void order(FairShare standings) {
        this.standings = standings;
        this.order = standings.order();
        if (kept != null) {
            kept = new ArrayList<>(standings.sorted(kept));
            appendedInOrder = true;
        }
    }

    /** Whether the kept list may be planned again without reading the queue. */
    boolean fresh(Instant now) {
        return kept != null && now.isBefore(readAt.plus(FULL_READ_EVERY));
    }

    /** The whole queue, read now, in order; it is what is kept from now on. */
    List<Reservation> readAll(Connection c, Instant now) throws SQLException {
        List<Reservation> queued = standings.sorted(reservations.withStatus(c, false, ReservationStatus.QUEUED));
        stored = new HashMap<>();
        queued.forEach(q -> stored.put(q.id(), q.queue()));
        unwritten.clear();
        readAt = now;
        kept = new ArrayList<>(queued);
        appendedInOrder = true;
        planned.clear();
        queued.forEach(q -> planned.add(q.id()));
        return queued;
    }

    /** Those of these arrivals still waiting and not planned yet, in order. */
    List<Reservation> arrivals(Connection c, Collection<UUID> news) throws SQLException {
        List<UUID> unplanned = news.stream().filter(id -> !planned.contains(id)).toList();
        if (unplanned.isEmpty()) {
            return List.of();
        }
        return standings.sorted(reservations.queuedAmong(c, unplanned));
    }

    /** The waiting reservations the kept list holds (for the standings: who competes). */
    List<Reservation> kept() {
        return kept == null ? List.of() : kept;
    }

    /** Whether these arrivals (in order) all go behind every kept reservation: planning only them is then exact. */
    boolean behindAll(List<Reservation> arrivals) {
        return arrivals.isEmpty() || kept.isEmpty() || order.compare(kept.getLast(), arrivals.getFirst()) < 0 && appendedInOrder;
    }

    /**
     * The kept list in order again (arrivals appended behind everyone for a moment may belong further
     * ahead), and these arrivals in order.
     */
    List<Reservation> sorted(List<Reservation> arrivals) {
        if (!appendedInOrder) {
            kept = new ArrayList<>(standings.sorted(kept));
            appendedInOrder = true;
        }
        return arrivals;
    }

    /** The kept list with these arrivals merged in, in order; all of it is kept from now on. */
    List<Reservation> keptWith(List<Reservation> arrivals) {
        List<Reservation> all = new ArrayList<>(kept.size() + arrivals.size());
        int i = 0;
        int j = 0;
        while (i < kept.size() || j < arrivals.size()) {
            boolean fromKept = j >= arrivals.size() || i < kept.size() && order.compare(kept.get(i), arrivals.get(j)) <= 0;
            all.add(fromKept ? kept.get(i++) : arrivals.get(j++));
        }
        arrivals.forEach(a -> planned.add(a.id()));
        kept = new ArrayList<>(all);
        return all;
    }

    /** Arrivals planned after the kept list (behind everyone, even those that belong further ahead: see {@link #sorted}). */
    void add(List<Reservation> arrivals) {
        if (!arrivals.isEmpty() && !kept.isEmpty() && order.compare(kept.getLast(), arrivals.getFirst()) > 0) {
            appendedInOrder = false;
        }
        kept.addAll(arrivals);
        arrivals.forEach(a -> planned.add(a.id()));
    }

    /** Read the queue again on the next pass. */
    void drop() {
        kept = null;
    }

    /**
     * Records what the plan changes of the waiting reservations' queue fields (in a deep queue most stay as
     * they are); an admitted one leaves the queue. With {@code onlyArrivals}, the plan is of arrivals
     * appended to the kept list.
     */
    void plan(Scheduler.Plan plan, List<Reservation> queued, boolean onlyArrivals) {
        for (var admission : plan.admissions()) {
            planned.remove(admission.reservationId());
            stored.remove(admission.reservationId());
            unwritten.remove(admission.reservationId());
        }
        Map<UUID, Reservation> byId = new HashMap<>();
        queued.forEach(q -> byId.put(q.id(), q));
        Map<UUID, Integer> overtaken = onlyArrivals ? overtakenFromBehind(plan) : overtakenInLine(plan, byId);
        Map<UUID, Integer> claimedAhead = plan.claimers().isEmpty() ? Map.of() : claimersAhead(plan, byId);
        for (var w : plan.waiting()) {
            Reservation before = byId.get(w.reservationId());
            var queue = new Reservation.Queue(w.position(), w.reason().name(), w.estimatedStart(), w.nodes());
            Reservation.Queue was = stored.containsKey(w.reservationId()) ? stored.get(w.reservationId())
                    : before == null ? null : before.queue();
            if (queue.equals(was)) {
                unwritten.remove(w.reservationId());
            } else {
                unwritten.put(w.reservationId(), new Unwritten(w, queue, before, overtaken.getOrDefault(w.reservationId(), 0),
                        claimedAhead.getOrDefault(w.reservationId(), 0)));
            }
        }
    }

    /** The next changes to write (at most {@link #WRITES_PER_PASS}, nearest the front first). */
    List<ReservationQueue.Waiting> toWrite() {
        List<ReservationQueue.Waiting> out = new ArrayList<>(Math.min(WRITES_PER_PASS, unwritten.size()));
        for (var w : unwritten.values()) {
            if (out.size() == WRITES_PER_PASS) {
                break;
            }
            out.add(w.waiting());
        }
        return out;
    }

    /** These changes are in the database now. */
    void written(List<ReservationQueue.Waiting> done) {
        for (var w : done) {
            stored.put(w.id(), w.queue());
            unwritten.remove(w.id());
        }
    }

    /** Changes planned and not written yet. */
    int unwritten() {
        return unwritten.size();
    }

    /** For each waiting one of a whole plan: how many ahead of it in its type's line are younger. */
    private static Map<UUID, Integer> overtakenInLine(Scheduler.Plan plan, Map<UUID, Reservation> byId) {
        List<Reservation> line = new ArrayList<>(plan.waiting().size());
        for (var w : plan.waiting()) {
            Reservation r = byId.get(w.reservationId());
            if (r != null) {
                line.add(r);
            }
        }
        return FairShare.overtakenBy(line);
    }

    /** For each waiting one of a whole plan: how many younger ones ahead of it in its type's line went by their team's guarantee. */
    private static Map<UUID, Integer> claimersAhead(Scheduler.Plan plan, Map<UUID, Reservation> byId) {
        Map<String, List<Reservation>> seen = new HashMap<>(); // claimers so far, per type
        Map<UUID, Integer> out = new HashMap<>();
        for (var w : plan.waiting()) {
            Reservation r = byId.get(w.reservationId());
            if (r == null) {
                continue;
            }
            List<Reservation> ahead = seen.computeIfAbsent(r.gpuType(), t -> new ArrayList<>());
            int n = 0;
            for (Reservation c : ahead) {
                if (Scheduler.fifo().compare(c, r) > 0) {
                    n++;
                }
            }
            if (n > 0) {
                out.put(r.id(), n);
            }
            if (plan.claimers().contains(r.id())) {
                ahead.add(r);
            }
        }
        return out;
    }

    /** For arrivals appended to the kept list: how many kept ahead of each in its type's line are younger. */
    private Map<UUID, Integer> overtakenFromBehind(Scheduler.Plan plan) {
        // One Fenwick-tree sweep of the planned line (FairShare.overtakenBy), O(n log n): counting, for each arrival,
        // the younger ones ahead of it one by one was O(arrivals x queue) and took seconds at 35,000 waiting.
        Set<UUID> asked = new java.util.HashSet<>();
        for (var w : plan.waiting()) {
            asked.add(w.reservationId());
        }
        List<Reservation> line = new ArrayList<>(kept.size());
        for (Reservation k : kept) {
            if (planned.contains(k.id())) {
                line.add(k);
            }
        }
        Map<UUID, Integer> out = new HashMap<>();
        FairShare.overtakenBy(line).forEach((id, n) -> {
            if (asked.contains(id)) {
                out.put(id, n);
            }
        });
        return out;
    }

    /** The waiting reason in words, for {@code show}. */
    private static String detail(Scheduler.Waiting w, Reservation before, int overtaken, int claimed) {
        int byShare = overtaken - claimed;
        String why = (byShare <= 0 ? "" : "; " + byShare + " of those ahead " + (byShare == 1 ? "is a younger reservation" : "are younger reservations")
                + " of users who used less GPU time lately (fair share)")
                + (claimed == 0 ? "" : "; " + claimed + " of those ahead " + (claimed == 1 ? "is a younger reservation" : "are younger reservations")
                + " of a team within its guaranteed GPUs");
        return switch (w.reason()) {
            case WAITING_FOR_CAPACITY -> before != null && before.options().booked()
                    ? "booked for " + DateTimeFormatter.ISO_INSTANT.format(before.options().startAt()) + " but late: its GPUs are held until "
                    + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart()) + " (a reservation there was extended, or GPUs went away)"
                    : "waiting for GPUs, position " + w.position()
                    + ", expected to start " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart()) + why;
            case USER_GPU_LIMIT -> "waiting: you hold your GPU limit"
                    + (w.estimatedStart() == null ? "" : "; expected to start " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart()));
            case WAITING_FOR_DISK -> "waiting for disk " + (before == null ? "" : before.options().disk())
                    + " (in use by another reservation of yours); expected to start " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart());
            case NO_CAPACITY_OF_TYPE -> "no node of this GPU type (with the labels asked for) can hold it";
            case BOOKED -> "booked: its GPUs are kept for it from " + DateTimeFormatter.ISO_INSTANT.format(w.estimatedStart());
        };
    }
}
