package dev.gpudev.store;

import dev.gpudev.core.Reservation;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The waiting reservations' side of the reservations table: where each waits (what the scheduler
 * writes), the head of each queue with who holds GPUs (what the dashboard and `queue` show), and what
 * one user has waiting (the per-user waiting limits). Column names live here, in {@link Reservations}
 * and in {@link ReservationRows}, nowhere else.
 */
public final class ReservationQueue {

    /** Who holds GPUs (preparing and active, oldest first) and the first {@code perType} waiting of each type, in queue order. */
    public record Occupancy(List<Reservation> holding, List<Reservation> waiting) {
    }

    public Occupancy occupancy(Connection c, Collection<String> types, int perType) throws SQLException {
        List<Reservation> holding;
        try (PreparedStatement ps = c.prepareStatement(ReservationRows.SELECT_NO_HISTORY
                + " where r.status in ('preparing', 'active') order by r.created_at, r.reservation_id")) {
            holding = ReservationRows.rows(ps);
        }
        // Per type, the head of its queue: the oldest by the live index (a deep queue costs no more than a short
        // one), with room to spare, put in queue order here. Reservations are planned in the order they arrive,
        // which is their creation but for commits racing by milliseconds: the margin covers that.
        List<Reservation> head;
        try (PreparedStatement ps = c.prepareStatement(ReservationRows.SELECT_NO_HISTORY + " " + """
                 where r.reservation_id in (select q.reservation_id from unnest(?::text[]) t(gpu_type)
                       cross join lateral (select reservation_id from reservations x where x.status = 'queued' and x.gpu_type = t.gpu_type
                                           order by x.created_at limit ?) q)""")) {
            ps.setArray(1, c.createArrayOf("text", types.toArray()));
            ps.setInt(2, perType * 2 + 50);
            head = ReservationRows.rows(ps);
        }
        head.sort(java.util.Comparator.comparing(Reservation::gpuType)
                .thenComparing(Reservation::queuePosition, java.util.Comparator.nullsLast(java.util.Comparator.naturalOrder()))
                .thenComparing(Reservation::createdAt));
        List<Reservation> waiting = new ArrayList<>();
        Map<String, Integer> shown = new HashMap<>();
        for (Reservation r : head) {
            if (shown.merge(r.gpuType(), 1, Integer::sum) <= perType) {
                waiting.add(r);
            }
        }
        return new Occupancy(holding, waiting);
    }


    /** What the scheduler says of one waiting reservation. */
    public record Waiting(UUID id, Reservation.Queue queue, String detail) {
    }

    /**
     * Queue positions and reasons of waiting reservations, each row written only when it changes. One
     * statement for all of them (joined on arrays): a cycle may place thousands of new arrivals, and one
     * statement per row both costs a round trip each and keeps whatever plan the first one got, a
     * sequential scan when the table was still small.
     */
    public void setWaiting(Connection c, List<Waiting> all) throws SQLException {
        for (int from = 0; from < all.size(); from += 5000) {
            List<Waiting> chunk = all.subList(from, Math.min(all.size(), from + 5000));
            Object[] ids = new Object[chunk.size()];
            Object[] positions = new Object[chunk.size()];
            Object[] reasons = new Object[chunk.size()];
            Object[] etas = new Object[chunk.size()];
            Object[] details = new Object[chunk.size()];
            Object[] planned = new Object[chunk.size()];
            for (int i = 0; i < chunk.size(); i++) {
                Waiting w = chunk.get(i);
                ids[i] = w.id();
                positions[i] = w.queue().position();
                reasons[i] = w.queue().pendingReason();
                etas[i] = w.queue().estimatedStart() == null ? null : w.queue().estimatedStart().toString();
                details[i] = w.detail();
                planned[i] = w.queue().plannedNodes().isEmpty() ? null : String.join(",", w.queue().plannedNodes());
            }
            try (PreparedStatement ps = c.prepareStatement("""
                    update reservations r set queue_position = w.pos, pending_reason = w.reason, estimated_start_at = w.eta,
                                              current_detailed_status = w.detail, planned_nodes = w.planned,
                                              first_estimated_start_at = coalesce(r.first_estimated_start_at, w.eta)
                    from unnest(?::uuid[], ?::int[], ?::text[], (?::text[])::timestamptz[], ?::text[], ?::text[])
                         as w(id, pos, reason, eta, detail, planned)
                    where r.reservation_id = w.id and r.status = 'queued'
                      and (r.queue_position is distinct from w.pos or r.pending_reason is distinct from w.reason
                           or r.estimated_start_at is distinct from w.eta or r.current_detailed_status is distinct from w.detail
                           or r.planned_nodes is distinct from w.planned)""")) {
                ps.setArray(1, c.createArrayOf("uuid", ids));
                ps.setArray(2, c.createArrayOf("int4", positions));
                ps.setArray(3, c.createArrayOf("text", reasons));
                ps.setArray(4, c.createArrayOf("text", etas));
                ps.setArray(5, c.createArrayOf("text", details));
                ps.setArray(6, c.createArrayOf("text", planned));
                ps.executeUpdate();
            }
        }
    }

    /** How many reservations of this class a user has waiting. */
    public int waitingOfClass(Connection c, long userId, String priorityClass) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select count(*) from reservations where user_id = ? and status = 'queued' and priority_class = ?")) {
            ps.setLong(1, userId);
            ps.setString(2, priorityClass);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** Every booking waiting, with the nodes its last plan kept for it. */
    public List<Reservation> bookings(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(ReservationRows.SELECT_NO_HISTORY + " where r.status = 'queued' and r.start_at is not null")) {
            return ReservationRows.rows(ps);
        }
    }

    /** How many bookings ahead a user has waiting. */
    public int bookingsOf(Connection c, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select count(*) from reservations where user_id = ? and status = 'queued' and start_at is not null")) {
            ps.setLong(1, userId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** What a user has waiting: how many reservations, and their GPU-hours. */
    public record UserWaiting(int count, java.math.BigDecimal gpuHours) {
    }

    public UserWaiting waitingOf(Connection c, long userId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select count(*), coalesce(sum(gpu_count * duration_hours), 0) from reservations where user_id = ? and status = 'queued'""")) {
            ps.setLong(1, userId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new UserWaiting(rs.getInt(1), rs.getBigDecimal(2));
            }
        }
    }


    /**
     * The condition under which a submit may add a waiting reservation for its user (see
     * {@link CommandQueue.WaitingGuard}). Parameters: max waiting, user, max waiting; max GPU-hours, user,
     * this one's GPU-hours, max GPU-hours.
     */
    static final String WAITING_GUARD = """
            (?::int = 0 or (select count(*) from reservations w where w.user_id = ?::int and w.status = 'queued') < ?::int)
            and (?::int = 0 or (select coalesce(sum(w.gpu_count * w.duration_hours), 0) from reservations w
                 where w.user_id = ?::int and w.status = 'queued') + ?::numeric <= ?::int)""";
}
