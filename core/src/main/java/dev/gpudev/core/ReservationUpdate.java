package dev.gpudev.core;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A change to a reservation's row, one named setter per thing that can change. Which columns hold
 * what is the store's business: callers say "the endpoint is this", never a column name.
 */
public final class ReservationUpdate {
    /** What can be set; the store maps each to its columns. */
    public enum Field {
        DURATION_HOURS, LAUNCHED_AT, EXPIRES_AT, PLACEMENT, ENDPOINT, DETAIL, FAILURE_REASON, QUEUE, WARNINGS_SENT,
        LAST_ACTIVE_AT, IDLE_WARNED_AT, JUPYTER, JUPYTER_ACCESS
    }

    private final EnumMap<Field, Object> values = new EnumMap<>(Field.class);

    public static ReservationUpdate of() {
        return new ReservationUpdate();
    }

    public ReservationUpdate durationHours(BigDecimal hours) {
        return set(Field.DURATION_HOURS, hours);
    }

    public ReservationUpdate launchedAt(Instant at) {
        return set(Field.LAUNCHED_AT, at);
    }

    public ReservationUpdate expiresAt(Instant at) {
        return set(Field.EXPIRES_AT, at);
    }

    /** Every node's slice, written whole (node 0's endpoint with it, see {@link #endpoint}). */
    public ReservationUpdate placement(Reservation.Placement placement) {
        return set(Field.PLACEMENT, placement);
    }

    /** Node 0's SSH endpoint: host and port together, never one without the other. */
    public ReservationUpdate endpoint(Reservation.Connection endpoint) {
        return set(Field.ENDPOINT, endpoint);
    }

    public ReservationUpdate detail(String detail) {
        return set(Field.DETAIL, detail);
    }

    public ReservationUpdate failureReason(String reason) {
        return set(Field.FAILURE_REASON, reason);
    }

    /** Where it waits; null clears position, reason and estimate together. */
    public ReservationUpdate queue(Reservation.Queue queue) {
        return set(Field.QUEUE, queue);
    }

    public ReservationUpdate warningsSent(List<Integer> minutes) {
        return set(Field.WARNINGS_SENT, List.copyOf(minutes));
    }

    public ReservationUpdate lastActiveAt(Instant at) {
        return set(Field.LAST_ACTIVE_AT, at);
    }

    public ReservationUpdate idleWarnedAt(Instant at) {
        return set(Field.IDLE_WARNED_AT, at);
    }

    public ReservationUpdate jupyter(boolean on) {
        return set(Field.JUPYTER, on);
    }

    /** Jupyter's port and token for the reservation's life (null: none yet). */
    public ReservationUpdate jupyterAccess(Reservation.JupyterAccess access) {
        return set(Field.JUPYTER_ACCESS, access);
    }

    private ReservationUpdate set(Field f, Object v) {
        values.put(f, v);
        return this;
    }

    /** This update with another's values added (the other's win). */
    public ReservationUpdate and(ReservationUpdate other) {
        values.putAll(other.values);
        return this;
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    public Map<Field, Object> values() {
        return Collections.unmodifiableMap(values);
    }

    @Override
    public String toString() {
        return "ReservationUpdate" + values;
    }
}
