package dev.gpudev.store;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.UUID;

/**
 * The commands that the API sends to the processor through PGMQ. A send shares the caller's
 * transaction, so the row and its command are committed together or not at all.
 */
public final class CommandQueue {
    public static final String DEFAULT_QUEUE = "gpu_reservations";

    public enum Type { create, cancel, extend, add_user, jupyter_enable, jupyter_disable, delete_disk, disk_op }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Command(@JsonProperty("type") Type type,
                          @JsonProperty("reservation_id") UUID reservationId,
                          @JsonProperty("requested_by") String requestedBy,
                          @JsonProperty("extension_hours") java.math.BigDecimal extensionHours,
                          @JsonProperty("username") String username,
                          @JsonProperty("operation_id") Long operationId) {
        public Command(Type type, UUID reservationId, String requestedBy, java.math.BigDecimal extensionHours, String username) {
            this(type, reservationId, requestedBy, extensionHours, username, null);
        }

        /** A disk operation: the row in disk_operations says what and whose. */
        public static Command diskOperation(long operationId, String requestedBy) {
            return new Command(Type.disk_op, null, requestedBy, null, null, operationId);
        }

        public Command(Type type, UUID reservationId, String requestedBy) {
            this(type, reservationId, requestedBy, null, null);
        }

        public Command(Type type, UUID reservationId, String requestedBy, java.math.BigDecimal extensionHours) {
            this(type, reservationId, requestedBy, extensionHours, null);
        }
    }

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

    public long send(Connection c, Command command) throws SQLException {
        long id = pgmq.send(c, queue, Json.write(command), 0);
        Notifications.notify(c);
        return id;
    }

    /**
     * A new reservation and its create command in one statement (see {@link Reservations#insertWithCommand});
     * false, with nothing written, when a unique index refuses the row.
     */
    public boolean submit(Connection c, Reservations reservations, dev.gpudev.core.Reservation r, java.util.Map<String, Object> extra)
            throws SQLException {
        return reservations.insertWithCommand(c, r, extra, queue, Json.write(new Command(Type.create, r.id(), r.username())));
    }

    public static Command parse(String json) {
        return Json.read(json, Command.class);
    }

    /** The reservation a message is about, even when the rest of it cannot be read. */
    public static java.util.Optional<UUID> reservationIdOf(String json) {
        try {
            var node = Json.MAPPER.readTree(json).get("reservation_id");
            return node == null ? java.util.Optional.empty() : java.util.Optional.of(UUID.fromString(node.asText()));
        } catch (Exception e) {
            return java.util.Optional.empty();
        }
    }
}
