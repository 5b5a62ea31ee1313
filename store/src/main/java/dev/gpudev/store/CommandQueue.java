package dev.gpudev.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gpudev.core.Command;
import dev.gpudev.core.Reservation;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The commands that the API sends to the processor through PGMQ, and their wire form. A send shares
 * the caller's transaction, so the row and its command are committed together or not at all.
 */
public final class CommandQueue {
    public static final String DEFAULT_QUEUE = "gpu_reservations";

    private final Pgmq pgmq;
    private final String queue;

    public CommandQueue(Pgmq pgmq, String queue) {
        this.pgmq = pgmq;
        this.queue = queue;
    }

    public String queue() {
        return queue;
    }

    public void ensureQueue(Database db) {
        db.query(c -> {
            pgmq.create(c, queue);
            return null;
        });
    }

    /** Sends a command in the caller's transaction and wakes the processors when it commits. */
    public long send(Connection c, Command command) throws SQLException {
        long id = pgmq.send(c, queue, write(command), 0);
        Notifications.notify(c);
        return id;
    }

    /**
     * A new reservation's row and its create command in one statement: atomic in autocommit and one
     * round trip, the hot path of submit. The wake-up is the caller's, after the commit
     * ({@link Notifications.Coalescer}). False, with nothing written, when a unique index refuses the row
     * (a live reservation of that name, or that Idempotency-Key).
     */
    public boolean submit(Connection c, Reservations reservations, Reservation r, String idempotencyKey) throws SQLException {
        return submit(c, reservations, r, idempotencyKey, null);
    }

    /**
     * The row, its command and, when given, the request's audit entry in one statement: one round trip and
     * one commit for a submit (the entry is written only with the row).
     */
    public boolean submit(Connection c, Reservations reservations, Reservation r, String idempotencyKey, AuditLog.Entry audit) throws SQLException {
        return submit(c, reservations, r, idempotencyKey, audit, null);
    }

    /**
     * What one user may have waiting, checked in the submit's own statement: a row is written only while
     * the user's waiting reservations are fewer than {@code maxWaiting} and their GPU-hours with this one's
     * stay within {@code maxGpuHours} (0: no limit). Submits of one user racing in the same instant may
     * pass it together: a bound on a burst, not an exact count.
     */
    public record WaitingGuard(int maxWaiting, int maxGpuHours) {
    }

    /** What came of a submit: written, refused by the waiting guard, or refused by a unique index (a name, an Idempotency-Key). */
    public enum Submitted { WRITTEN, OVER_WAITING_LIMITS, CONFLICT }

    /** As {@link #submit(Connection, Reservations, Reservation, String, AuditLog.Entry)}, refused (false) past the guard too. */
    public boolean submit(Connection c, Reservations reservations, Reservation r, String idempotencyKey, AuditLog.Entry audit,
                          WaitingGuard guard) throws SQLException {
        return submitted(c, reservations, r, idempotencyKey, audit, guard) == Submitted.WRITTEN;
    }

    /** The row, its command and its audit entry in one statement, under the waiting guard; and what came of it. */
    public Submitted submitted(Connection c, Reservations reservations, Reservation r, String idempotencyKey, AuditLog.Entry audit,
                               WaitingGuard guard) throws SQLException {
        Sql insert = reservations.insertOf(r, idempotencyKey);
        List<Object> values = new ArrayList<>();
        String guarded = "";
        String insertText = insert.text();
        boolean guarding = guard != null && (guard.maxWaiting() > 0 || guard.maxGpuHours() > 0);
        if (guarding) {
            guarded = "ok as (select " + ReservationQueue.WAITING_GUARD + " as allowed), ";
            values.addAll(List.of(guard.maxWaiting(), r.userId(), guard.maxWaiting(), guard.maxGpuHours(), r.userId(),
                    r.durationHours().multiply(java.math.BigDecimal.valueOf(r.gpuCount())), guard.maxGpuHours()));
            int at = insertText.lastIndexOf("values (");
            insertText = insertText.substring(0, at) + "select " + insertText.substring(at + "values (".length(), insertText.length() - 1)
                    + " where (select allowed from ok)";
        }
        values.addAll(insert.values());
        String audited = "";
        if (audit != null) {
            Sql entry = AuditLog.recordFor("ins", audit);
            audited = ", aud as (" + entry.text() + ")";
            values.addAll(entry.values());
        }
        values.add(queue);
        values.add(write(new Command.Create(r.id(), r.username())));
        String sql = "with " + guarded + "ins as (" + insertText + " on conflict do nothing returning reservation_id)" + audited
                + (guarding ? " select (select allowed from ok), (select pgmq.send(?, ?::jsonb, 0) from ins)"
                : " select true, pgmq.send(?, ?::jsonb, 0) from ins");
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            Sql.bind(c, ps, values);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Submitted.CONFLICT;
                }
                if (!rs.getBoolean(1)) {
                    return Submitted.OVER_WAITING_LIMITS;
                }
                rs.getLong(2);
                return rs.wasNull() ? Submitted.CONFLICT : Submitted.WRITTEN;
            }
        }
    }

    /** The wire form: {"type": ..., "reservation_id": ..., "requested_by": ..., and what the type needs}. */
    public static String write(Command command) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        switch (command) {
            case Command.Create cr -> reservation(n, "create", cr);
            case Command.Cancel ca -> reservation(n, "cancel", ca);
            case Command.Extend ex -> reservation(n, "extend", ex).put("extension_hours", ex.hours());
            case Command.Resize rs -> reservation(n, "resize", rs).put("duration_hours", rs.hours());
            case Command.AddUser au -> reservation(n, "add_user", au).put("username", au.username());
            case Command.Jupyter j -> reservation(n, j.enable() ? "jupyter_enable" : "jupyter_disable", j);
            case Command.DeleteDisk d -> n.put("type", "delete_disk").put("disk_id", d.diskId()).put("owner", d.owner()).put("name", d.name());
            case Command.DiskOperation o -> n.put("type", "disk_op").put("operation_id", o.operationId());
        }
        n.put("requested_by", command.requestedBy());
        return n.toString();
    }

    private static ObjectNode reservation(ObjectNode n, String type, Command.OfReservation c) {
        return n.put("type", type).put("reservation_id", c.reservationId().toString());
    }

    /** Reads a command; throws IllegalArgumentException for one that is not a command (it is dead-lettered). */
    public static Command parse(String json) {
        JsonNode n;
        try {
            n = Json.MAPPER.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException("bad JSON: " + e.getMessage(), e);
        }
        String by = n.path("requested_by").asText(null);
        try {
            return switch (n.path("type").asText("")) {
                case "create" -> new Command.Create(id(n), by);
                case "cancel" -> new Command.Cancel(id(n), by);
                case "extend" -> new Command.Extend(id(n), by, n.required("extension_hours").decimalValue());
                case "resize" -> new Command.Resize(id(n), by, n.required("duration_hours").decimalValue());
                case "add_user" -> new Command.AddUser(id(n), by, n.required("username").asText());
                case "jupyter_enable" -> new Command.Jupyter(id(n), by, true);
                case "jupyter_disable" -> new Command.Jupyter(id(n), by, false);
                // Before disks had ids, the disk's name travelled in "username" (id 0: found by owner and name).
                case "delete_disk" -> n.has("disk_id")
                        ? new Command.DeleteDisk(n.get("disk_id").asLong(), n.path("owner").asText(by), n.path("name").asText(""), by)
                        : new Command.DeleteDisk(0, by, n.required("username").asText(), by);
                case "disk_op" -> new Command.DiskOperation(n.required("operation_id").asLong(), by);
                default -> throw new IllegalArgumentException("unknown command type '" + n.path("type").asText("") + "'");
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a command: " + e.getMessage(), e);
        }
    }

    private static UUID id(JsonNode n) {
        return UUID.fromString(n.required("reservation_id").asText());
    }

    /** The reservation a message is about, even when the rest of it cannot be read. */
    public static Optional<UUID> reservationIdOf(String json) {
        try {
            var node = Json.MAPPER.readTree(json).get("reservation_id");
            return node == null ? Optional.empty() : Optional.of(UUID.fromString(node.asText()));
        } catch (Exception e) {
            return Optional.empty();
        }
    }
}
