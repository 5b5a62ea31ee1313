package dev.gpudev.store;

import dev.gpudev.core.IllegalTransitionException;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.ReservationUpdate;
import dev.gpudev.core.StatusChange;
import dev.gpudev.core.Transition;
import dev.gpudev.core.Usage;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The reservations table: the truth about every reservation. Changes of state go through the state
 * machine ({@link Transition}); other changes are typed ({@link ReservationUpdate}). Column names live
 * here and in {@link ReservationRows}, nowhere else.
 */
public final class Reservations {
    private static final String SELECT = ReservationRows.SELECT;
    private static final String SELECT_NO_HISTORY = ReservationRows.SELECT_NO_HISTORY;

    private static final String INSERT = """
            insert into reservations (reservation_id, user_id, status, gpu_type, gpu_count, duration_hours, name, created_at,
                current_detailed_status, status_history, idempotency_key, jupyter_enabled, idle_opt_out, disk_name, disk_id,
                no_persist, image, node_labels, distributed, priority_class, start_at, team, env, run)
            values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""";

    /** The INSERT of a new reservation's row, every column it is born with (one statement text: one prepared plan). */
    Sql insertOf(Reservation r, String idempotencyKey) {
        List<Object> values = new ArrayList<>(List.of(r.id(), r.userId(), r.status().wire(), r.gpuType(), r.gpuCount(), r.durationHours()));
        values.add(r.name() == null ? new Sql.Null(java.sql.Types.VARCHAR) : r.name());
        values.add(r.createdAt());
        values.add(r.detailedStatus() == null ? new Sql.Null(java.sql.Types.VARCHAR) : r.detailedStatus());
        values.add(new Sql.Jsonb(ReservationRows.historyJson(r.history())));
        values.add(idempotencyKey == null ? new Sql.Null(java.sql.Types.VARCHAR) : idempotencyKey);
        values.add(r.lifecycle().jupyter());
        values.add(r.lifecycle().idleOptOut());
        var o = r.options();
        values.add(o.disk() == null ? new Sql.Null(java.sql.Types.VARCHAR) : o.disk());
        values.add(o.diskId() == null ? new Sql.Null(java.sql.Types.INTEGER) : o.diskId().intValue());
        values.add(o.scratch());
        values.add(o.image() == null ? new Sql.Null(java.sql.Types.VARCHAR) : o.image());
        values.add(new Sql.Jsonb(Json.write(o.nodeLabels())));
        values.add(o.distributed());
        values.add(o.priority().wire());
        values.add(o.startAt() == null ? new Sql.Null(java.sql.Types.TIMESTAMP_WITH_TIMEZONE) : o.startAt());
        values.add(o.team() == null ? new Sql.Null(java.sql.Types.VARCHAR) : o.team());
        values.add(o.env().isEmpty() ? new Sql.Null(java.sql.Types.OTHER) : new Sql.Jsonb(Json.write(o.env().values())));
        values.add(o.run() == null ? new Sql.Null(java.sql.Types.OTHER) : new Sql.Jsonb(ReservationRows.runJson(o.run())));
        return new Sql(INSERT, values);
    }

    /** Rows of reservations this process has read so far, by any query (benchmarks: reads per processor cycle). */
    public static long rowsRead() {
        return ReservationRows.READ.sum();
    }

    private final ReservationQueue queue = new ReservationQueue();

    /** The waiting reservations' side of the table: their places, the queue as the dashboard shows it, a user's waiting. */
    public ReservationQueue queue() {
        return queue;
    }

    public void insert(Connection c, Reservation r) throws SQLException {
        insertOf(r, null).execute(c);
    }

    /** The reservation a user made with this Idempotency-Key, if any. */
    public Optional<Reservation> findByIdempotencyKey(Connection c, long userId, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where r.user_id = ? and r.idempotency_key = ?")) {
            ps.setLong(1, userId);
            ps.setString(2, key);
            return ReservationRows.rows(ps).stream().findFirst();
        }
    }

    public Optional<Reservation> find(Connection c, UUID id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where r.reservation_id = ?")) {
            ps.setObject(1, id);
            return ReservationRows.rows(ps).stream().findFirst();
        }
    }

    /** Locks the row for a change: concurrent commands on one reservation apply one after the other. */
    public Optional<Reservation> lock(Connection c, UUID id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where r.reservation_id = ? for update of r")) {
            ps.setObject(1, id);
            return ReservationRows.rows(ps).stream().findFirst();
        }
    }

    /**
     * The reservations a reference can mean to this viewer: the full id, a prefix of the id (4 or more
     * characters), or a name; among those the viewer owns or was added to (every one for admins, viewer
     * null). Live ones first, newest first; at most {@code limit}.
     */
    public List<Reservation> matching(Connection c, Long viewerId, String ref, int limit) throws SQLException {
        String prefix = ref.toLowerCase(java.util.Locale.ROOT).matches("[0-9a-f-]{4,36}") ? ref.toLowerCase(java.util.Locale.ROOT) : null;
        try (PreparedStatement ps = c.prepareStatement(SELECT + " " + """
                 where (r.name = ? or (?::text is not null and r.reservation_id::text like ?::text || '%'))
                   and (?::int is null or r.user_id = ?::int or exists (select 1 from reservation_users ru
                        where ru.reservation_id = r.reservation_id and ru.user_id = ?::int))
                 order by (r.status in ('queued','preparing','active')) desc, r.created_at desc limit ?""")) {
            ps.setString(1, ref);
            ps.setString(2, prefix);
            ps.setString(3, prefix);
            ps.setObject(4, viewerId);
            ps.setObject(5, viewerId);
            ps.setObject(6, viewerId);
            ps.setInt(7, limit);
            return ReservationRows.rows(ps);
        }
    }

    /** How many {@link #list} would give without a limit. */
    public int count(Connection c, Long userId, List<ReservationStatus> statuses) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select count(*) from reservations r
                 where (?::int is null or r.user_id = ?::int or exists (select 1 from reservation_users ru
                        where ru.reservation_id = r.reservation_id and ru.user_id = ?::int))
                   and (cardinality(?::text[]) = 0 or r.status = any(?::text[]))""")) {
            Array st = c.createArrayOf("text", statuses.stream().map(ReservationStatus::wire).toArray());
            ps.setObject(1, userId);
            ps.setObject(2, userId);
            ps.setObject(3, userId);
            ps.setArray(4, st);
            ps.setArray(5, st);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** Newest first, own and shared with the user; userId null means everyone's (for admins), statuses empty means all. */
    public List<Reservation> list(Connection c, Long userId, List<ReservationStatus> statuses, int limit, int offset)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " " + """
                 where (?::int is null or r.user_id = ?::int or exists (select 1 from reservation_users ru
                        where ru.reservation_id = r.reservation_id and ru.user_id = ?::int))
                   and (cardinality(?::text[]) = 0 or r.status = any(?::text[]))
                 order by r.created_at desc, r.reservation_id limit ? offset ?""")) {
            Array st = c.createArrayOf("text", statuses.stream().map(ReservationStatus::wire).toArray());
            ps.setObject(1, userId);
            ps.setObject(2, userId);
            ps.setObject(3, userId);
            ps.setArray(4, st);
            ps.setArray(5, st);
            ps.setInt(6, limit);
            ps.setInt(7, offset);
            return ReservationRows.rows(ps);
        }
    }

    /** Reservations in these states, oldest first, with their histories. */
    public List<Reservation> withStatus(Connection c, ReservationStatus... statuses) throws SQLException {
        return withStatus(c, true, statuses);
    }

    /**
     * Reservations in these states, oldest first. Without history for the processor, which reads every
     * live reservation every cycle and never needs it: parsing thousands of histories is its main cost.
     */
    public List<Reservation> withStatus(Connection c, boolean withHistory, ReservationStatus... statuses) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement((withHistory ? SELECT : SELECT_NO_HISTORY)
                + " where r.status = any(?::text[]) order by r.created_at, r.reservation_id")) {
            ps.setArray(1, c.createArrayOf("text", Arrays.stream(statuses).map(ReservationStatus::wire).toArray()));
            return ReservationRows.rows(ps);
        }
    }

    /** Those of the given reservations that are still queued, oldest first, without history: new arrivals. */
    public List<Reservation> queuedAmong(Connection c, Collection<UUID> ids) throws SQLException {
        if (ids.isEmpty()) {
            return List.of();
        }
        try (PreparedStatement ps = c.prepareStatement(SELECT_NO_HISTORY
                + " where r.status = 'queued' and r.reservation_id = any(?) order by r.created_at, r.reservation_id")) {
            ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
            return ReservationRows.rows(ps);
        }
    }

    /** Reservations in that state created (a booking: whose window began) before the cutoff, oldest first, without history. */
    public List<Reservation> createdBefore(Connection c, ReservationStatus status, Instant cutoff) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT_NO_HISTORY
                + " where r.status = ? and r.created_at < ? and (r.start_at is null or r.start_at < ?)"
                + " order by r.created_at, r.reservation_id")) {
            ps.setString(1, status.wire());
            ps.setTimestamp(2, Timestamp.from(cutoff));
            ps.setTimestamp(3, Timestamp.from(cutoff));
            return ReservationRows.rows(ps);
        }
    }

    /**
     * Moves a reservation to a new state if it is still in {@code from} (compare-and-set: one statement,
     * no lock held before it), appending the change to its history and writing what the transition sets;
     * the new row, or empty when it had moved on meanwhile (another replica, a command) or is gone.
     */
    public Optional<Reservation> transition(Connection c, UUID id, ReservationStatus from, Transition t, Instant at) throws SQLException {
        if (!from.canTransitionTo(t.to())) {
            throw new IllegalTransitionException("reservation " + id + " is " + from.wire() + " and cannot become " + t.to().wire());
        }
        List<String> sets = new ArrayList<>(List.of("status = ?", "status_changed_at = ?"));
        List<Object> values = new ArrayList<>(List.of(t.to().wire(), at));
        return write(c, id, from, sets, values, new StatusChange(t.to(), at, t.reason()), t.update());
    }

    /**
     * Appends a history entry without changing state (an extension, a refusal, a warning) and writes the
     * update, if the reservation is still in {@code in}; the new row, or empty when it moved on.
     */
    public Optional<Reservation> note(Connection c, UUID id, ReservationStatus in, String reason, Instant at, ReservationUpdate update)
            throws SQLException {
        return write(c, id, in, new ArrayList<>(), new ArrayList<>(), new StatusChange(in, at, reason), update);
    }

    /**
     * Brings a running reservation's end forward for one with a better claim (the scheduler chose it: a
     * preemptible one, or one that borrowed a team's guaranteed GPUs): once (a
     * compare-and-set on its preemption), only while it is active and would end later; noted in its
     * history. The row as it is now, or empty when it was not (ended meanwhile, already preempted).
     */
    public Optional<Reservation> preempt(Connection c, UUID id, Instant endsAt, Instant now, String reason) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                update reservations set preempted_at = ?, expires_at = ?, updated_at = now(), current_detailed_status = ?,
                    status_history = status_history || jsonb_build_array(jsonb_build_object('status', status, 'at', ?::text, 'reason', ?::text))
                where reservation_id = ? and status = 'active' and preempted_at is null
                  and expires_at > ?""")) {
            ps.setTimestamp(1, java.sql.Timestamp.from(now));
            ps.setTimestamp(2, java.sql.Timestamp.from(endsAt));
            ps.setString(3, reason);
            ps.setString(4, now.toString());
            ps.setString(5, reason);
            ps.setObject(6, id);
            ps.setTimestamp(7, java.sql.Timestamp.from(endsAt));
            if (ps.executeUpdate() == 0) {
                return Optional.empty();
            }
        }
        return find(c, id);
    }

    /** Sets fields without a change of state, whatever the state (tests, and fields no state depends on). */
    public void update(Connection c, UUID id, ReservationUpdate update) throws SQLException {
        if (update.isEmpty()) {
            return;
        }
        List<String> sets = new ArrayList<>();
        List<Object> values = new ArrayList<>();
        ReservationRows.columns(update, sets, values);
        values.add(id);
        new Sql("update reservations set updated_at = now(), " + String.join(", ", sets) + " where reservation_id = ?", values).execute(c);
    }

    /** Sets fields only while the row is in the given state; false when it moved on meanwhile. */
    public boolean updateIf(Connection c, UUID id, ReservationStatus expected, ReservationUpdate update) throws SQLException {
        if (update.isEmpty()) {
            return true;
        }
        List<String> sets = new ArrayList<>();
        List<Object> values = new ArrayList<>();
        ReservationRows.columns(update, sets, values);
        values.add(id);
        values.add(expected.wire());
        return new Sql("update reservations set updated_at = now(), " + String.join(", ", sets)
                + " where reservation_id = ? and status = ?", values).execute(c) > 0;
    }

    /**
     * Sets fields only while the row is in the given state and its expiry warnings sent are still these:
     * a warning is decided once, and an extension (which clears them) committed meanwhile wins.
     */
    public boolean updateIfWarnings(Connection c, UUID id, ReservationStatus expected, List<Integer> warningsSent, ReservationUpdate update)
            throws SQLException {
        List<String> sets = new ArrayList<>();
        List<Object> values = new ArrayList<>();
        ReservationRows.columns(update, sets, values);
        values.add(id);
        values.add(expected.wire());
        values.add(new Sql.IntArray(warningsSent));
        return new Sql("update reservations set updated_at = now(), " + String.join(", ", sets)
                + " where reservation_id = ? and status = ? and coalesce(warnings_sent, '{}') = ?", values).execute(c) > 0;
    }

    private Optional<Reservation> write(Connection c, UUID id, ReservationStatus expected, List<String> sets, List<Object> values,
                                        StatusChange entry, ReservationUpdate update) throws SQLException {
        sets.add("status_history = status_history || ?::jsonb");
        values.add(Json.write(List.of(ReservationRows.entry(entry))));
        ReservationRows.columns(update, sets, values);
        values.add(id);
        values.add(expected.wire());
        try (PreparedStatement ps = c.prepareStatement("update reservations set updated_at = now(), " + String.join(", ", sets)
                + " where reservation_id = ? and status = ?" + ReservationRows.RETURNING)) {
            Sql.bind(c, ps, values);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(ReservationRows.map(rs)) : Optional.empty();
            }
        }
    }

    /** GPUs in use and waiting per type, and live reservations by state: one grouped query. */
    public Usage usage(Connection c) throws SQLException {
        Usage.Builder b = new Usage.Builder();
        try (PreparedStatement ps = c.prepareStatement("""
                select gpu_type, status, count(*), coalesce(sum(gpu_count), 0) from reservations
                where status in ('queued', 'preparing', 'active') group by gpu_type, status""");
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                b.add(rs.getString(1), ReservationStatus.parse(rs.getString(2)), rs.getInt(3), rs.getInt(4));
            }
        }
        return b.build();
    }

    /** The ids of a user's reservations that wait or hold GPUs. */
    public List<UUID> liveOf(Connection c, long userId) throws SQLException {
        List<UUID> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(
                "select reservation_id from reservations where user_id = ? and status in ('queued', 'preparing', 'active')")) {
            ps.setLong(1, userId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getObject(1, UUID.class));
                }
            }
        }
        return out;
    }

    /** The end of a batch run's output as the platform kept it when the run ended (null: none kept). */
    public Optional<String> runLogTail(Connection c, UUID id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("select run_log_tail from reservations where reservation_id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
            }
        }
    }

    /**
     * What waits for these GPU types that no node existing or starting would start soon: reservations submitted
     * before {@code waitingSince}, waiting for GPUs of their type (not their user's limit, a disk, a booking ahead),
     * whose planned start is unknown or after {@code startsAfter}, grouped by GPUs, whether distributed, and the
     * labels they ask of a node (one grouped query).
     */
    public List<dev.gpudev.core.PoolSizing.Demand> waitingDemand(Connection c, List<String> types, Instant waitingSince, Instant startsAfter)
            throws SQLException {
        List<dev.gpudev.core.PoolSizing.Demand> out = new ArrayList<>();
        if (types.isEmpty()) {
            return out;
        }
        // only what waits for GPUs of its type (not for its user's limit, a disk of its own, or a booking ahead)
        try (PreparedStatement ps = c.prepareStatement("""
                select gpu_type, gpu_count, distributed, count(*), node_labels::text from reservations
                where status = 'queued' and gpu_type = any(?) and created_at <= ?
                  and pending_reason in ('WAITING_FOR_CAPACITY', 'NO_CAPACITY_OF_TYPE')
                  and (start_at is null or start_at <= ?)
                  and (estimated_start_at is null or estimated_start_at > ?)
                group by gpu_type, gpu_count, distributed, node_labels::text""")) {
            ps.setArray(1, c.createArrayOf("text", types.toArray()));
            ps.setTimestamp(2, java.sql.Timestamp.from(waitingSince));
            ps.setTimestamp(3, java.sql.Timestamp.from(startsAfter));
            ps.setTimestamp(4, java.sql.Timestamp.from(startsAfter));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new dev.gpudev.core.PoolSizing.Demand(rs.getString(1), rs.getInt(2), rs.getBoolean(3), rs.getInt(4),
                            ReservationRows.labels(rs.getString(5))));
                }
            }
        }
        return out;
    }

    /** Whether a live or waiting reservation wants this disk as its home. */
    public boolean diskWanted(Connection c, long diskId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select 1 from reservations where disk_id = ? and status in ('queued', 'preparing', 'active') limit 1""")) {
            ps.setLong(1, diskId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** For each of a user's disks in use as a home now: the reservation using it. */
    public Map<Long, UUID> disksInUse(Connection c, long userId) throws SQLException {
        Map<Long, UUID> out = new HashMap<>();
        try (PreparedStatement ps = c.prepareStatement("""
                select disk_id, reservation_id from reservations
                where user_id = ? and disk_id is not null and status in ('preparing', 'active')""")) {
            ps.setLong(1, userId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getLong(1), rs.getObject(2, UUID.class));
                }
            }
        }
        return out;
    }

    /**
     * Whether this user may open a tunnel to host:port: it is the SSH endpoint of an active reservation
     * they own or were added to.
     */
    public boolean ownsEndpoint(Connection c, String username, String host, int port) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                select 1 from reservations r join api_users u on u.is_active and u.username = ?
                where r.status = 'active'
                  and ((r.ssh_host = ? and r.ssh_port = ?)
                       or r.placement @> jsonb_build_array(jsonb_build_object('ssh_host', ?::text, 'ssh_port', ?::int)))
                  and (r.user_id = u.user_id or exists (select 1 from reservation_users ru
                       where ru.reservation_id = r.reservation_id and ru.user_id = u.user_id))""")) {
            ps.setString(1, username);
            ps.setString(2, host);
            ps.setInt(3, port);
            ps.setString(4, host);
            ps.setInt(5, port);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }
}
