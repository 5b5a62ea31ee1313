package dev.gpudev.core;

import java.time.Instant;

/**
 * A change of state with what it writes: the reason that goes to the history, and the fields the
 * state machine sets with it. Decided here, next to {@link ReservationStatus}, so that every path to a
 * state (the API, the processor's commands, the sweeper) writes the same things.
 */
public record Transition(ReservationStatus to, String reason, ReservationUpdate update) {

    /** The scheduler placed it: it leaves the queue and its environment is being made. */
    public static Transition admit(Reservation.Placement placement) {
        String where = String.join(", ", placement.slices().stream()
                .map(sl -> sl.node() + " (" + sl.gpuCount() + " GPU" + (sl.gpuCount() == 1 ? "" : "s") + ")").toList());
        return new Transition(ReservationStatus.PREPARING, "admitted on " + where, ReservationUpdate.of()
                .placement(placement).queue(null).detail("creating environment"));
    }

    /**
     * Every node runs: the clock starts now (it ends the row's duration later, as the row holds it when this
     * is written), the endpoints are what the backend reported.
     */
    public static Transition activate(Reservation current, Instant now, Reservation.Placement running, String detail) {
        Reservation.Placement.Slice first = running.slices().getFirst();
        return new Transition(ReservationStatus.ACTIVE, running.multinode() ? "environments ready on " + running.slices().size() + " nodes"
                : "environment ready", ReservationUpdate.of()
                .placement(running)
                .endpoint(new Reservation.Connection(first.sshHost(), first.sshPort()))
                .launchedAt(now)
                .expiresAfterDurationFrom(now)
                .lastActiveAt(now)
                .detail(detail));
    }

    public static Transition cancel(String reason) {
        return new Transition(ReservationStatus.CANCELLED, reason, ReservationUpdate.of().detail("cancelled: " + reason));
    }

    public static Transition expire(String reason) {
        return new Transition(ReservationStatus.EXPIRED, reason, ReservationUpdate.of().detail("expired: " + reason));
    }

    /** It failed; the reason is for the user, in words they understand. */
    public static Transition fail(String reason) {
        return new Transition(ReservationStatus.FAILED, reason, ReservationUpdate.of().failureReason(reason).detail("failed: " + reason));
    }

    /**
     * Its batch run's command ended and the reservation ends with it: "expired" after a command that
     * exited 0 (it ran its course), "failed" after one that did not, with the exit code in the reason.
     */
    public static Transition runEnded(BatchRun.Outcome outcome, String logTail) {
        String words = "the command " + outcome.words();
        ReservationUpdate update = ReservationUpdate.of().runOutcome(outcome, logTail);
        return outcome.exitCode() == 0
                ? new Transition(ReservationStatus.EXPIRED, words, update.detail("ended: " + words))
                : new Transition(ReservationStatus.FAILED, words, update.failureReason(words).detail("failed: " + words));
    }
}
