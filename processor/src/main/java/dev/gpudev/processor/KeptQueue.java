package dev.gpudev.processor;

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
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The waiting reservations the scheduling pass plans, kept between passes so that a pass need not read
 * the whole queue again: in the order this processor first planned them (planning again moves no one),
 * with what the database holds of each one's queue fields (so a pass writes only what changed). Read
 * again at least every {@link #FULL_READ_EVERY}, and whenever the kept list was dropped.
 */
final class KeptQueue {
    static final Duration FULL_READ_EVERY = Duration.ofMinutes(10);

    private final Reservations reservations;
    /** The waiting reservations, in the order planned; null when they must be read again. */
    private List<Reservation> kept;
    private Instant readAt;
    /** Each waiting reservation's place in the order it was first planned in (survives a re-read). */
    private final Map<UUID, Long> order = new HashMap<>();
    private long nextOrder;
    /** What the database holds of each waiting reservation's queue fields (read, then as written). */
    private Map<UUID, Reservation.Queue> stored = new HashMap<>();

    KeptQueue(Reservations reservations) {
        this.reservations = reservations;
    }

    /** Whether the kept list may be planned again without reading the queue. */
    boolean fresh(Instant now) {
        return kept != null && now.isBefore(readAt.plus(FULL_READ_EVERY));
    }

    /** The whole queue, read now, in order; it is what is kept from now on. */
    List<Reservation> readAll(Connection c, Instant now) throws SQLException {
        List<Reservation> queued = reservations.withStatus(c, false, ReservationStatus.QUEUED);
        stored = new HashMap<>();
        queued.forEach(q -> stored.put(q.id(), q.queue()));
        order.keySet().retainAll(stored.keySet());
        queued = inOrder(queued);
        readAt = now;
        kept = new ArrayList<>(queued);
        return queued;
    }

    /** Those of these arrivals still waiting and not planned yet (one read with the queue before its command was applied is), in order. */
    List<Reservation> arrivals(Connection c, Collection<UUID> news) throws SQLException {
        List<UUID> unplanned = news.stream().filter(id -> !order.containsKey(id)).toList();
        return unplanned.isEmpty() ? List.of() : inOrder(reservations.queuedAmong(c, unplanned));
    }

    /** The kept list, followed by these arrivals; all of it is kept from now on. */
    List<Reservation> keptWith(List<Reservation> arrivals) {
        List<Reservation> all = new ArrayList<>(kept);
        all.addAll(arrivals);
        kept = new ArrayList<>(all);
        return all;
    }

    /** Arrivals planned after the kept list. */
    void add(List<Reservation> arrivals) {
        kept.addAll(arrivals);
    }

    /** Read the queue again on the next pass. */
    void drop() {
        kept = null;
    }

    /**
     * What the plan changes of the waiting reservations' queue fields (in a deep queue most stay as they
     * are), recorded as what the database now holds; an admitted one leaves the queue.
     */
    List<ReservationQueue.Waiting> changes(Scheduler.Plan plan, List<Reservation> queued) {
        for (var admission : plan.admissions()) {
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
            if (!queue.equals(was)) {
                stored.put(w.reservationId(), queue);
                changed.add(new ReservationQueue.Waiting(w.reservationId(), queue, detail(w, before)));
            }
        }
        return changed;
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
        known.sort(Comparator.comparingLong(r -> order.get(r.id())));
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
        Map<String, Iterator<Reservation>> next = new HashMap<>();
        perType.forEach((type, list) -> {
            list.sort(Comparator.comparing((Reservation r) -> r.queuePosition(), Comparator.nullsLast(Comparator.naturalOrder()))
                    .thenComparing(Scheduler.fifo()));
            next.put(type, list.iterator());
        });
        List<Reservation> out = new ArrayList<>(byCreation.size());
        for (Reservation r : byCreation) {
            out.add(next.get(r.gpuType()).next());
        }
        return out;
    }

    /** The waiting reason in words, for {@code show}. */
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
