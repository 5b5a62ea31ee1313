package dev.gpudev.core;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A change to a reservation's row, one named setter per thing that can change, each with its own type.
 * Which columns hold what is the store's business: callers say "the endpoint is this", never a column
 * name. A field is written only when it was set; setting it to null clears it.
 */
public final class ReservationUpdate {
    /** What can be set; the store maps each to its columns. */
    public enum Field {
        DURATION_HOURS, LAUNCHED_AT, EXPIRES_AT, EXPIRES_AFTER_DURATION, PLACEMENT, ENDPOINT, DETAIL, FAILURE_REASON, QUEUE,
        WARNINGS_SENT, LAST_ACTIVE_AT, IDLE_WARNED_AT, JUPYTER, JUPYTER_ACCESS, RUN_OUTCOME
    }

    private final Set<Field> set = EnumSet.noneOf(Field.class);
    private BigDecimal durationHours;
    private Instant launchedAt;
    private Instant expiresAt;
    private Instant expiresAfterDurationFrom;
    private Reservation.Placement placement;
    private Reservation.Connection endpoint;
    private String detail;
    private String failureReason;
    private Reservation.Queue queue;
    private List<Integer> warningsSent;
    private Instant lastActiveAt;
    private Instant idleWarnedAt;
    private boolean jupyter;
    private Reservation.JupyterAccess jupyterAccess;
    private BatchRun.Outcome runOutcome;
    private String runLogTail;

    public static ReservationUpdate of() {
        return new ReservationUpdate();
    }

    public ReservationUpdate durationHours(BigDecimal hours) {
        durationHours = hours;
        return mark(Field.DURATION_HOURS);
    }

    public ReservationUpdate launchedAt(Instant at) {
        launchedAt = at;
        return mark(Field.LAUNCHED_AT);
    }

    public ReservationUpdate expiresAt(Instant at) {
        expiresAt = at;
        expiresAfterDurationFrom = null;
        set.remove(Field.EXPIRES_AFTER_DURATION);
        return mark(Field.EXPIRES_AT);
    }

    /**
     * Ends the reservation its duration after this moment, as the row holds the duration when the change
     * is written (an extension applied meanwhile by another replica is never lost).
     */
    public ReservationUpdate expiresAfterDurationFrom(Instant from) {
        expiresAfterDurationFrom = from;
        expiresAt = null;
        set.remove(Field.EXPIRES_AT);
        return mark(Field.EXPIRES_AFTER_DURATION);
    }

    /** Every node's slice, written whole (node 0's endpoint with it, see {@link #endpoint}). */
    public ReservationUpdate placement(Reservation.Placement placement) {
        this.placement = placement;
        return mark(Field.PLACEMENT);
    }

    /** Node 0's SSH endpoint: host and port together, never one without the other. */
    public ReservationUpdate endpoint(Reservation.Connection endpoint) {
        this.endpoint = endpoint;
        return mark(Field.ENDPOINT);
    }

    public ReservationUpdate detail(String detail) {
        this.detail = detail;
        return mark(Field.DETAIL);
    }

    public ReservationUpdate failureReason(String reason) {
        this.failureReason = reason;
        return mark(Field.FAILURE_REASON);
    }

    /** Where it waits; null clears position, reason and estimate together. */
    public ReservationUpdate queue(Reservation.Queue queue) {
        this.queue = queue;
        return mark(Field.QUEUE);
    }

    public ReservationUpdate warningsSent(List<Integer> minutes) {
        this.warningsSent = List.copyOf(minutes);
        return mark(Field.WARNINGS_SENT);
    }

    public ReservationUpdate lastActiveAt(Instant at) {
        this.lastActiveAt = at;
        return mark(Field.LAST_ACTIVE_AT);
    }

    public ReservationUpdate idleWarnedAt(Instant at) {
        this.idleWarnedAt = at;
        return mark(Field.IDLE_WARNED_AT);
    }

    public ReservationUpdate jupyter(boolean on) {
        this.jupyter = on;
        return mark(Field.JUPYTER);
    }

    /** Jupyter's port and token for the reservation's life (null: none yet). */
    public ReservationUpdate jupyterAccess(Reservation.JupyterAccess access) {
        this.jupyterAccess = access;
        return mark(Field.JUPYTER_ACCESS);
    }

    /** How its batch run ended, with the end of its output (kept for `gpu-dev logs` after the environment is gone). */
    public ReservationUpdate runOutcome(BatchRun.Outcome outcome, String logTail) {
        this.runOutcome = outcome;
        this.runLogTail = logTail;
        return mark(Field.RUN_OUTCOME);
    }

    private ReservationUpdate mark(Field f) {
        set.add(f);
        return this;
    }

    /** This update with another's values added (the other's win). */
    public ReservationUpdate and(ReservationUpdate other) {
        for (Field f : other.set) {
            switch (f) {
                case DURATION_HOURS -> durationHours(other.durationHours);
                case LAUNCHED_AT -> launchedAt(other.launchedAt);
                case EXPIRES_AT -> expiresAt(other.expiresAt);
                case EXPIRES_AFTER_DURATION -> expiresAfterDurationFrom(other.expiresAfterDurationFrom);
                case PLACEMENT -> placement(other.placement);
                case ENDPOINT -> endpoint(other.endpoint);
                case DETAIL -> detail(other.detail);
                case FAILURE_REASON -> failureReason(other.failureReason);
                case QUEUE -> queue(other.queue);
                case WARNINGS_SENT -> warningsSent(other.warningsSent);
                case LAST_ACTIVE_AT -> lastActiveAt(other.lastActiveAt);
                case IDLE_WARNED_AT -> idleWarnedAt(other.idleWarnedAt);
                case JUPYTER -> jupyter(other.jupyter);
                case JUPYTER_ACCESS -> jupyterAccess(other.jupyterAccess);
                case RUN_OUTCOME -> runOutcome(other.runOutcome, other.runLogTail);
            }
        }
        return this;
    }

    public boolean isEmpty() {
        return set.isEmpty();
    }

    /** Whether this field is written by the update. */
    public boolean has(Field f) {
        return set.contains(f);
    }

    public BigDecimal durationHours() {
        return durationHours;
    }

    public Instant launchedAt() {
        return launchedAt;
    }

    public Instant expiresAt() {
        return expiresAt;
    }

    public Instant expiresAfterDurationFrom() {
        return expiresAfterDurationFrom;
    }

    public Reservation.Placement placement() {
        return placement;
    }

    public Reservation.Connection endpoint() {
        return endpoint;
    }

    public String detail() {
        return detail;
    }

    public String failureReason() {
        return failureReason;
    }

    public Reservation.Queue queue() {
        return queue;
    }

    public List<Integer> warningsSent() {
        return warningsSent;
    }

    public Instant lastActiveAt() {
        return lastActiveAt;
    }

    public Instant idleWarnedAt() {
        return idleWarnedAt;
    }

    public boolean jupyter() {
        return jupyter;
    }

    public Reservation.JupyterAccess jupyterAccess() {
        return jupyterAccess;
    }

    public BatchRun.Outcome runOutcome() {
        return runOutcome;
    }

    public String runLogTail() {
        return runLogTail;
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        set.forEach(f -> parts.add(f.name().toLowerCase(java.util.Locale.ROOT)));
        return "ReservationUpdate" + parts;
    }
}
