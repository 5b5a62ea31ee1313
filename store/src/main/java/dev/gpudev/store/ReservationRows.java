package dev.gpudev.store;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.ReservationUpdate;
import dev.gpudev.core.StatusChange;

import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** How a reservation is a row: the select lists, and the codecs of its JSON columns. */
final class ReservationRows {
    private ReservationRows() {
    }

    /** Every column but the history. */
    static final String COLUMNS = """
            r.reservation_id, r.user_id, r.status, r.gpu_type, r.gpu_count, r.duration_hours, r.name, r.created_at,
            r.launched_at, r.expires_at, r.ssh_host, r.ssh_port, r.failure_reason, r.current_detailed_status,
            r.queue_position, r.pending_reason, r.estimated_start_at, r.warnings_sent, r.last_active_at, r.idle_warned_at,
            r.idle_opt_out, r.status_changed_at, r.jupyter_enabled, r.placement, r.disk_name, r.disk_id, r.no_persist, r.image,
            r.node_labels, r.distributed, r.jupyter_port, r.jupyter_token, r.planned_nodes, r.priority_class, r.preempted_at, r.start_at, r.team, r.env,
            r.run, r.run_exit_code, r.run_ended_at""";
    static final String SELECT = "select " + COLUMNS + ", r.status_history::text as status_history, u.username"
            + " from reservations r join api_users u on u.user_id = r.user_id";
    /** The history reads as empty: the scheduler and the sweeper read every live row every cycle and never need it. */
    static final String SELECT_NO_HISTORY = "select " + COLUMNS + ", '[]' as status_history, u.username"
            + " from reservations r join api_users u on u.user_id = r.user_id";
    /** What an UPDATE returns: the new row, history and owner's name included. */
    static final String RETURNING = " returning " + COLUMNS.replace("r.", "") + ", status_history::text as status_history,"
            + " (select u.username from api_users u where u.user_id = reservations.user_id) as username";

    private static final TypeReference<List<Map<String, String>>> HISTORY = new TypeReference<>() {
    };
    private static final TypeReference<List<Map<String, Object>>> SLICES = new TypeReference<>() {
    };
    private static final TypeReference<Map<String, String>> LABELS = new TypeReference<>() {
    };

    /** Rows of reservations this process has read (benchmarks count what a processor cycle reads). */
    static final java.util.concurrent.atomic.LongAdder READ = new java.util.concurrent.atomic.LongAdder();

    static List<Reservation> rows(PreparedStatement ps) throws SQLException {
        List<Reservation> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(map(rs));
            }
        }
        READ.add(out.size());
        return out;
    }

    static Reservation map(ResultSet rs) throws SQLException {
        String host = rs.getString("ssh_host");
        Reservation.Connection connection = host == null ? null : new Reservation.Connection(host, rs.getInt("ssh_port"));
        Number diskId = (Number) rs.getObject("disk_id");
        Number jupyterPort = (Number) rs.getObject("jupyter_port");
        String jupyterToken = rs.getString("jupyter_token");
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
                placement(rs.getString("placement")),
                connection,
                rs.getString("failure_reason"),
                rs.getString("current_detailed_status"),
                new Reservation.Queue((Integer) rs.getObject("queue_position"), rs.getString("pending_reason"),
                        Pgmq.instant(rs, rs.findColumn("estimated_start_at")), nodeList(rs.getString("planned_nodes"))),
                new Reservation.Lifecycle(ints(rs.getArray("warnings_sent")), Pgmq.instant(rs, rs.findColumn("last_active_at")),
                        Pgmq.instant(rs, rs.findColumn("idle_warned_at")), rs.getBoolean("idle_opt_out"),
                        Pgmq.instant(rs, rs.findColumn("status_changed_at")), rs.getBoolean("jupyter_enabled"),
                        new Reservation.Options(rs.getString("disk_name"), rs.getBoolean("no_persist"), rs.getString("image"),
                                labels(rs.getString("node_labels")), rs.getBoolean("distributed"),
                                diskId == null ? null : diskId.longValue(), dev.gpudev.core.PriorityClass.stored(rs.getString("priority_class")),
                                Pgmq.instant(rs, rs.findColumn("start_at")), rs.getString("team"),
                                new dev.gpudev.core.EnvVars(labels(rs.getString("env"))), run(rs.getString("run"))),
                        jupyterPort == null || jupyterToken == null ? null
                                : new Reservation.JupyterAccess(jupyterPort.intValue(), jupyterToken),
                        Pgmq.instant(rs, rs.findColumn("preempted_at")), outcome(rs)),
                history(rs.getString("status_history")));
    }

    /** {"command": [...], "workdir": "...", "keep": bool}, or null. */
    static dev.gpudev.core.BatchRun run(String json) {
        if (json == null) {
            return null;
        }
        var node = Json.read(json, com.fasterxml.jackson.databind.JsonNode.class);
        List<String> command = new ArrayList<>();
        node.path("command").forEach(w -> command.add(w.asText()));
        return new dev.gpudev.core.BatchRun(command, node.hasNonNull("workdir") ? node.get("workdir").asText() : null,
                node.path("keep").asBoolean(false));
    }

    static String runJson(dev.gpudev.core.BatchRun run) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("command", run.command());
        m.put("workdir", run.workdir());
        m.put("keep", run.keep());
        return Json.write(m);
    }

    private static dev.gpudev.core.BatchRun.Outcome outcome(ResultSet rs) throws SQLException {
        Number code = (Number) rs.getObject("run_exit_code");
        return code == null ? null : new dev.gpudev.core.BatchRun.Outcome(code.intValue(), Pgmq.instant(rs, rs.findColumn("run_ended_at")));
    }

    static Map<String, String> labels(String json) {
        try {
            return json == null ? Map.of() : Json.MAPPER.readValue(json, LABELS);
        } catch (Exception e) {
            throw new IllegalStateException("corrupt node_labels: " + e.getMessage(), e);
        }
    }

    /** [{node, gpu_count, gpus, ssh_host, ssh_port}]: gpus are the devices the backend gave (rows before gpu_count: all of them). */
    static String placementJson(Reservation.Placement placement) {
        List<Map<String, Object>> slices = new ArrayList<>();
        for (var sl : placement.slices()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("node", sl.node());
            m.put("gpu_count", sl.gpuCount());
            m.put("gpus", sl.devices());
            m.put("ssh_host", sl.sshHost());
            m.put("ssh_port", sl.sshPort());
            slices.add(m);
        }
        return Json.write(slices);
    }

    static Reservation.Placement placement(String json) {
        if (json == null) {
            return null;
        }
        try {
            List<Reservation.Placement.Slice> slices = new ArrayList<>();
            for (Map<String, Object> m : Json.MAPPER.readValue(json, SLICES)) {
                @SuppressWarnings("unchecked")
                List<Number> gpus = (List<Number>) m.getOrDefault("gpus", List.of());
                Number count = (Number) m.get("gpu_count");
                Number port = (Number) m.get("ssh_port");
                slices.add(new Reservation.Placement.Slice((String) m.get("node"), count == null ? gpus.size() : count.intValue(),
                        gpus.stream().map(Number::intValue).toList(), (String) m.get("ssh_host"), port == null ? null : port.intValue()));
            }
            return slices.isEmpty() ? null : new Reservation.Placement(slices);
        } catch (Exception e) {
            throw new IllegalStateException("corrupt placement: " + e.getMessage(), e);
        }
    }

    private static List<Integer> ints(Array a) throws SQLException {
        return a == null ? List.of() : Arrays.stream((Integer[]) a.getArray()).toList();
    }

    static List<StatusChange> history(String json) {
        try {
            return Json.MAPPER.readValue(json, HISTORY).stream()
                    .map(m -> new StatusChange(ReservationStatus.parse(m.get("status")), Instant.parse(m.get("at")), m.get("reason")))
                    .toList();
        } catch (Exception e) {
            throw new IllegalStateException("corrupt status_history: " + e.getMessage(), e);
        }
    }

    static String historyJson(List<StatusChange> history) {
        return Json.write(history.stream().map(ReservationRows::entry).toList());
    }

    static Map<String, String> entry(StatusChange h) {
        return Map.of("status", h.status().wire(), "at", h.at().toString(), "reason", h.reason() == null ? "" : h.reason());
    }

    private static List<String> nodeList(String joined) {
        return joined == null || joined.isEmpty() ? List.of() : List.of(joined.split(","));
    }

    /** The columns behind each field of an update. */
    static void columns(ReservationUpdate u, List<String> sets, List<Object> values) {
        if (u.has(ReservationUpdate.Field.DURATION_HOURS)) {
            set(sets, values, "duration_hours", u.durationHours());
        }
        if (u.has(ReservationUpdate.Field.LAUNCHED_AT)) {
            set(sets, values, "launched_at", u.launchedAt());
        }
        if (u.has(ReservationUpdate.Field.EXPIRES_AT)) {
            set(sets, values, "expires_at", u.expiresAt());
        }
        if (u.has(ReservationUpdate.Field.EXPIRES_AFTER_DURATION)) {
            // the duration as the row holds it now: an extension committed meanwhile counts
            sets.add("expires_at = ?::timestamptz + duration_hours * interval '1 hour'");
            values.add(u.expiresAfterDurationFrom());
        }
        if (u.has(ReservationUpdate.Field.DETAIL)) {
            set(sets, values, "current_detailed_status", u.detail());
        }
        if (u.has(ReservationUpdate.Field.FAILURE_REASON)) {
            set(sets, values, "failure_reason", u.failureReason());
        }
        if (u.has(ReservationUpdate.Field.LAST_ACTIVE_AT)) {
            set(sets, values, "last_active_at", u.lastActiveAt());
        }
        if (u.has(ReservationUpdate.Field.IDLE_WARNED_AT)) {
            set(sets, values, "idle_warned_at", u.idleWarnedAt());
        }
        if (u.has(ReservationUpdate.Field.JUPYTER)) {
            set(sets, values, "jupyter_enabled", u.jupyter());
        }
        if (u.has(ReservationUpdate.Field.WARNINGS_SENT)) {
            set(sets, values, "warnings_sent", new Sql.IntArray(u.warningsSent()));
        }
        if (u.has(ReservationUpdate.Field.PLACEMENT)) {
            var p = u.placement();
            set(sets, values, "placement", p == null ? null : new Sql.Jsonb(ReservationRows.placementJson(p)));
            set(sets, values, "node_name", p == null ? null : p.node());
            set(sets, values, "gpu_indices", p == null ? null : new Sql.IntArray(p.gpus()));
        }
        if (u.has(ReservationUpdate.Field.ENDPOINT)) {
            var ep = u.endpoint();
            set(sets, values, "ssh_host", ep == null ? null : ep.host());
            set(sets, values, "ssh_port", ep == null ? null : ep.port());
        }
        if (u.has(ReservationUpdate.Field.QUEUE)) {
            var q = u.queue();
            set(sets, values, "queue_position", q == null ? null : q.position());
            set(sets, values, "pending_reason", q == null ? null : q.pendingReason());
            set(sets, values, "estimated_start_at", q == null ? null : q.estimatedStart());
            set(sets, values, "planned_nodes", q == null || q.plannedNodes().isEmpty() ? null : String.join(",", q.plannedNodes()));
        }
        if (u.has(ReservationUpdate.Field.RUN_OUTCOME)) {
            var o = u.runOutcome();
            set(sets, values, "run_exit_code", o == null ? null : o.exitCode());
            set(sets, values, "run_ended_at", o == null ? null : o.endedAt());
            set(sets, values, "run_log_tail", u.runLogTail());
        }
        if (u.has(ReservationUpdate.Field.JUPYTER_ACCESS)) {
            var j = u.jupyterAccess();
            set(sets, values, "jupyter_port", j == null ? null : j.port());
            set(sets, values, "jupyter_token", j == null ? null : j.token());
        }
    }

    private static void set(List<String> sets, List<Object> values, String column, Object value) {
        if (value instanceof Instant) {
            sets.add(column + " = ?::timestamptz");
        } else {
            sets.add(column + " = ?");
        }
        values.add(value);
    }
}
