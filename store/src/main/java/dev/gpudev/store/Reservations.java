package dev.gpudev.store;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.gpudev.core.IllegalTransitionException;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.StatusChange;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** The reservations table: the truth about every reservation. Transitions go through the state machine. */
public final class Reservations {
    private static final String SELECT = """
            select r.*, u.username from reservations r join api_users u on u.user_id = r.user_id""";
    private static final TypeReference<List<Map<String, String>>> HISTORY = new TypeReference<>() {
    };
    /** Every column but the history, which reads as empty. */
    private static final String SELECT_NO_HISTORY = """
            select r.reservation_id, r.user_id, r.status, r.gpu_type, r.gpu_count, r.duration_hours, r.name, r.created_at,
                   r.launched_at, r.expires_at, r.ssh_host, r.ssh_port, r.failure_reason, r.current_detailed_status,
                   r.queue_position, r.pending_reason, r.estimated_start_at, r.warnings_sent, r.last_active_at, r.idle_warned_at,
                   r.idle_opt_out, r.status_changed_at, r.jupyter_enabled, r.placement, r.disk_name, r.no_persist, r.image,
                   r.node_labels, '[]' as status_history, u.username
            from reservations r join api_users u on u.user_id = r.user_id""";

    public void insert(Connection c, Reservation r) throws SQLException {
        var insert = insertOf(r, Map.of());
        execute(c, insert.sql(), insert.values());
    }

    /**
     * Writes a new reservation with the given extra columns and its command in one statement: atomic in
     * autocommit and one round trip, the hot path of submit. The wake-up is the caller's, after the commit
     * ({@link Notifications.Coalescer}). Returns false, writing nothing, when a unique index refuses the
     * row (a live reservation of that name, or that Idempotency-Key).
     */
    public boolean insertWithCommand(Connection c, Reservation r, Map<String, Object> extra, String queue, String commandJson)
            throws SQLException {
        var insert = insertOf(r, extra);
        List<Object> values = new ArrayList<>(insert.values());
        values.add(queue);
        values.add(commandJson);
        String sql = "with ins as (" + insert.sql() + " on conflict do nothing returning reservation_id)"
                + " select pgmq.send(?, ?::jsonb, 0) from ins";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(c, ps, values);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private record Insert(String sql, List<Object> values) {
    }

    /** The INSERT of a new reservation's row, with extra columns (column = value). */
    private static Insert insertOf(Reservation r, Map<String, Object> extra) {
        StringBuilder columns = new StringBuilder("""
                reservation_id, user_id, status, gpu_type, gpu_count, duration_hours, name, created_at, current_detailed_status,
                status_history""");
        StringBuilder marks = new StringBuilder("?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb");
        List<Object> values = new ArrayList<>(List.of(r.id(), r.userId(), r.status().wire(), r.gpuType(), r.gpuCount(),
                r.durationHours()));
        values.add(r.name() == null ? new Null(java.sql.Types.VARCHAR) : r.name());
        values.addAll(List.of(r.createdAt(), r.detailedStatus(), historyJson(r.history())));
        for (var e : extra.entrySet()) {
            columns.append(", ").append(column(e.getKey()));
            marks.append(", ?");
            values.add(e.getValue());
        }
        return new Insert("insert into reservations (" + columns + ") values (" + marks + ")", values);
    }

    /** A typed SQL null for {@link #bind}. */
    private record Null(int sqlType) {
    }

    /** The reservation a user made with this Idempotency-Key, if any. */
    public Optional<Reservation> findByIdempotencyKey(Connection c, long userId, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where r.user_id = ? and r.idempotency_key = ?")) {
            ps.setLong(1, userId);
            ps.setString(2, key);
            return rows(ps).stream().findFirst();
        }
    }

    public Optional<Reservation> find(Connection c, UUID id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where r.reservation_id = ?")) {
            ps.setObject(1, id);
            return rows(ps).stream().findFirst();
        }
    }

    /** Locks the row for a transition: concurrent commands on one reservation apply one after the other. */
    public Optional<Reservation> lock(Connection c, UUID id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " where r.reservation_id = ? for update of r")) {
            ps.setObject(1, id);
            return rows(ps).stream().findFirst();
        }
    }

    /** The owner's reservations with that name, newest first (live ones before ended ones). */
    public List<Reservation> findByName(Connection c, long userId, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT + " " + """
                 where r.user_id = ? and r.name = ?
                 order by (r.status in ('queued','preparing','active')) desc, r.created_at desc""")) {
            ps.setLong(1, userId);
            ps.setString(2, name);
            return rows(ps);
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
            return rows(ps);
        }
    }

    public List<Reservation> withStatus(Connection c, ReservationStatus... statuses) throws SQLException {
        return withStatus(c, true, statuses);
    }

    /**
     * Reservations in these states, oldest first. Without history for the scheduler, which reads every
     * waiting reservation every cycle and never needs it: parsing thousands of histories is its main cost.
     */
    public List<Reservation> withStatus(Connection c, boolean withHistory, ReservationStatus... statuses) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement((withHistory ? SELECT : SELECT_NO_HISTORY)
                + " where r.status = any(?::text[]) order by r.created_at, r.reservation_id")) {
            ps.setArray(1, c.createArrayOf("text", Arrays.stream(statuses).map(ReservationStatus::wire).toArray()));
            return rows(ps);
        }
    }

    /** Those of the given reservations that are still queued, oldest first, without history: new arrivals. */
    public List<Reservation> queuedAmong(Connection c, java.util.Collection<UUID> ids) throws SQLException {
        if (ids.isEmpty()) {
            return List.of();
        }
        try (PreparedStatement ps = c.prepareStatement(SELECT_NO_HISTORY
                + " where r.status = 'queued' and r.reservation_id = any(?) order by r.created_at, r.reservation_id")) {
            ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
            return rows(ps);
        }
    }

    /** Reservations in that state created before the cutoff, oldest first, without history. */
    public List<Reservation> createdBefore(Connection c, ReservationStatus status, Instant cutoff) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(SELECT_NO_HISTORY
                + " where r.status = ? and r.created_at < ? order by r.created_at, r.reservation_id")) {
            ps.setString(1, status.wire());
            ps.setTimestamp(2, Timestamp.from(cutoff));
            return rows(ps);
        }
    }

    /**
     * Moves a locked reservation to a new state if the state machine allows it, appending the change
     * to its history; the extra assignments (column = value) are made in the same statement.
     */
    public Reservation transition(Connection c, Reservation current, ReservationStatus to, String reason, Instant at,
                                  Map<String, Object> set) throws SQLException {
        if (!current.status().canTransitionTo(to)) {
            throw new IllegalTransitionException("reservation " + current.id() + " is " + current.status().wire()
                    + " and cannot become " + to.wire());
        }
        List<StatusChange> history = new ArrayList<>(current.history());
        history.add(new StatusChange(to, at, reason));
        Map<String, Object> all = new java.util.LinkedHashMap<>(set);
        all.put("status", to.wire());
        all.put("status_history", new JsonValue(historyJson(history)));
        all.put("status_changed_at", at);
        update(c, current.id(), all);
        return find(c, current.id()).orElseThrow();
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
            for (int i = 0; i < chunk.size(); i++) {
                Waiting w = chunk.get(i);
                ids[i] = w.id();
                positions[i] = w.queue().position();
                reasons[i] = w.queue().pendingReason();
                etas[i] = w.queue().estimatedStart() == null ? null : w.queue().estimatedStart().toString();
                details[i] = w.detail();
            }
            try (PreparedStatement ps = c.prepareStatement("""
                    update reservations r set queue_position = w.pos, pending_reason = w.reason, estimated_start_at = w.eta,
                                              current_detailed_status = w.detail
                    from unnest(?::uuid[], ?::int[], ?::text[], (?::text[])::timestamptz[], ?::text[]) as w(id, pos, reason, eta, detail)
                    where r.reservation_id = w.id and r.status = 'queued'
                      and (r.queue_position is distinct from w.pos or r.pending_reason is distinct from w.reason
                           or r.estimated_start_at is distinct from w.eta or r.current_detailed_status is distinct from w.detail)""")) {
                ps.setArray(1, c.createArrayOf("uuid", ids));
                ps.setArray(2, c.createArrayOf("int4", positions));
                ps.setArray(3, c.createArrayOf("text", reasons));
                ps.setArray(4, c.createArrayOf("text", etas));
                ps.setArray(5, c.createArrayOf("text", details));
                ps.executeUpdate();
            }
        }
    }

    /** Sets lifecycle columns without a change of state (warnings sent, activity, extensions). */
    public void update(Connection c, UUID id, Map<String, Object> set) throws SQLException {
        if (set.isEmpty()) {
            return;
        }
        StringBuilder sql = new StringBuilder("update reservations set updated_at = now()");
        List<Object> values = new ArrayList<>();
        for (var e : set.entrySet()) {
            sql.append(", ").append(column(e.getKey())).append(" = ?");
            values.add(e.getValue());
        }
        sql.append(" where reservation_id = ?");
        values.add(id);
        execute(c, sql.toString(), values);
    }

    /** Appends a history entry without changing state (an extension, a warning). */
    public Reservation note(Connection c, Reservation current, String reason, Instant at, Map<String, Object> set)
            throws SQLException {
        List<StatusChange> history = new ArrayList<>(current.history());
        history.add(new StatusChange(current.status(), at, reason));
        Map<String, Object> all = new java.util.LinkedHashMap<>(set);
        all.put("status_history", new JsonValue(historyJson(history)));
        update(c, current.id(), all);
        return find(c, current.id()).orElseThrow();
    }

    /** A value written as jsonb. */
    private record JsonValue(String json) {
    }

    /** The columns that record a placement: the full one, and node 0 in the flat columns. */
    public static Map<String, Object> placementColumns(Reservation.Placement placement) {
        List<Map<String, Object>> slices = new ArrayList<>();
        for (var sl : placement.slices()) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("node", sl.node());
            m.put("gpus", sl.gpus());
            m.put("ssh_host", sl.sshHost());
            m.put("ssh_port", sl.sshPort());
            slices.add(m);
        }
        Map<String, Object> set = new java.util.HashMap<>();
        set.put("placement", new JsonValue(Json.write(slices)));
        set.put("node_name", placement.node());
        set.put("gpu_indices", placement.gpus());
        return set;
    }

    private static String column(String name) {
        if (!name.matches("[a-z_]+")) {
            throw new IllegalArgumentException("bad column " + name);
        }
        return name;
    }

    private static void execute(Connection c, String sql, List<Object> values) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(c, ps, values);
            ps.executeUpdate();
        }
    }

    private static void bind(Connection c, PreparedStatement ps, List<Object> values) throws SQLException {
        for (int i = 0; i < values.size(); i++) {
            Object v = values.get(i);
            if (v instanceof Null n) {
                ps.setNull(i + 1, n.sqlType());
            } else if (v instanceof List<?> list) {
                ps.setArray(i + 1, c.createArrayOf("integer", list.toArray()));
            } else if (v instanceof Instant t) {
                ps.setTimestamp(i + 1, Timestamp.from(t));
            } else if (v instanceof JsonValue j) {
                var o = new org.postgresql.util.PGobject();
                o.setType("jsonb");
                o.setValue(j.json());
                ps.setObject(i + 1, o);
            } else {
                ps.setObject(i + 1, v);
            }
        }
    }

    public void setDetail(Connection c, UUID id, String detail) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                update reservations set current_detailed_status = ?
                where reservation_id = ? and current_detailed_status is distinct from ?""")) {
            ps.setString(1, detail);
            ps.setObject(2, id);
            ps.setString(3, detail);
            ps.executeUpdate();
        }
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

    /** Gives another user access (reading and connecting); adding twice is one addition. */
    public boolean addUser(Connection c, UUID id, long userId, long addedBy) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                insert into reservation_users (reservation_id, user_id, added_by) values (?, ?, ?) on conflict do nothing""")) {
            ps.setObject(1, id);
            ps.setLong(2, userId);
            ps.setLong(3, addedBy);
            return ps.executeUpdate() > 0;
        }
    }

    /** The users added to a reservation (not its owner). */
    public List<Long> addedUsers(Connection c, UUID id) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("select user_id from reservation_users where reservation_id = ? order by added_at")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }

    private static List<Reservation> rows(PreparedStatement ps) throws SQLException {
        List<Reservation> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(map(rs));
            }
        }
        return out;
    }

    private static Reservation map(ResultSet rs) throws SQLException {
        Reservation.Placement placement = placement(rs.getString("placement"));
        String host = rs.getString("ssh_host");
        Reservation.Connection connection = host == null ? null : new Reservation.Connection(host, rs.getInt("ssh_port"));
        return new Reservation(
                rs.getObject("reservation_id", UUID.class),
                rs.getLong("user_id"),
                rs.getString("username"),
                ReservationStatus.parse(rs.getString("status")),
                rs.getString("gpu_type"),
                rs.getInt("gpu_count"),
                rs.getBigDecimal("duration_hours").stripTrailingZeros(),
                rs.getString("name"),
                Pgmq.instant(rs, rs.findColumn("created_at")),
                Pgmq.instant(rs, rs.findColumn("launched_at")),
                Pgmq.instant(rs, rs.findColumn("expires_at")),
                placement,
                connection,
                rs.getString("failure_reason"),
                rs.getString("current_detailed_status"),
                new Reservation.Queue((Integer) rs.getObject("queue_position"), rs.getString("pending_reason"),
                        Pgmq.instant(rs, rs.findColumn("estimated_start_at"))),
                new Reservation.Lifecycle(ints(rs.getArray("warnings_sent")), Pgmq.instant(rs, rs.findColumn("last_active_at")),
                        Pgmq.instant(rs, rs.findColumn("idle_warned_at")), rs.getBoolean("idle_opt_out"),
                        Pgmq.instant(rs, rs.findColumn("status_changed_at")), rs.getBoolean("jupyter_enabled"),
                        new Reservation.Options(rs.getString("disk_name"), rs.getBoolean("no_persist"), rs.getString("image"),
                                labels(rs.getString("node_labels")))),
                history(rs.getString("status_history")));
    }

    private static final TypeReference<List<Map<String, Object>>> SLICES = new TypeReference<>() {
    };
    private static final TypeReference<Map<String, String>> LABELS = new TypeReference<>() {
    };

    private static Map<String, String> labels(String json) {
        try {
            return json == null ? Map.of() : Json.MAPPER.readValue(json, LABELS);
        } catch (Exception e) {
            throw new IllegalStateException("corrupt node_labels: " + e.getMessage(), e);
        }
    }

    /** A value for {@link #update} that is written as jsonb. */
    public static Object jsonb(Object value) {
        return new JsonValue(Json.write(value));
    }

    private static Reservation.Placement placement(String json) {
        if (json == null) {
            return null;
        }
        try {
            List<Reservation.Placement.Slice> slices = new ArrayList<>();
            for (Map<String, Object> m : Json.MAPPER.readValue(json, SLICES)) {
                @SuppressWarnings("unchecked")
                List<Number> gpus = (List<Number>) m.get("gpus");
                Number port = (Number) m.get("ssh_port");
                slices.add(new Reservation.Placement.Slice((String) m.get("node"), gpus.stream().map(Number::intValue).toList(),
                        (String) m.get("ssh_host"), port == null ? null : port.intValue()));
            }
            return slices.isEmpty() ? null : new Reservation.Placement(slices);
        } catch (Exception e) {
            throw new IllegalStateException("corrupt placement: " + e.getMessage(), e);
        }
    }

    private static List<Integer> ints(Array a) throws SQLException {
        return a == null ? List.of() : Arrays.stream((Integer[]) a.getArray()).toList();
    }

    private static List<StatusChange> history(String json) {
        try {
            return Json.MAPPER.readValue(json, HISTORY).stream()
                    .map(m -> new StatusChange(ReservationStatus.parse(m.get("status")), Instant.parse(m.get("at")), m.get("reason")))
                    .toList();
        } catch (Exception e) {
            throw new IllegalStateException("corrupt status_history: " + e.getMessage(), e);
        }
    }

    private static String historyJson(List<StatusChange> history) {
        return Json.write(history.stream().map(h -> Map.of("status", h.status().wire(), "at", h.at().toString(),
                "reason", h.reason() == null ? "" : h.reason())).toList());
    }
}
