package dev.gpudev.core;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;

/** The rules of extending a reservation in place: one decision, used by the API and the processor. */
public final class Extension {
    public static final BigDecimal MAX_PER_EXTENSION_HOURS = new BigDecimal(24);
    public static final BigDecimal MAX_LIFETIME_HOURS = new BigDecimal(48);

    private Extension() {
    }

    /**
     * Checks an extension of {@code hours} and returns the new total duration in hours (for a reservation
     * not yet launched) — the new end is its launch plus that.
     */
    public static BigDecimal newDuration(Reservation r, BigDecimal hours, Instant now) {
        if (hours == null || hours.signum() <= 0) {
            throw new ValidationException("extension_hours must be more than 0");
        }
        if (hours.compareTo(MAX_PER_EXTENSION_HOURS) > 0) {
            throw new ValidationException("one extension is at most 24 hours; extend again later for more");
        }
        if (hours.scale() > 6) {
            throw new ValidationException("extension_hours has too many decimals: use at most 6");
        }
        if (r.lifecycle().preemptedAt() != null && r.status() == ReservationStatus.ACTIVE) {
            throw new IllegalTransitionException("reservation " + r.id() + " was preempted: it ends at " + r.expiresAt()
                    + " for a reservation with a better claim and cannot be extended; reserve again to continue");
        }
        if (r.status() != ReservationStatus.ACTIVE && r.status() != ReservationStatus.PREPARING) {
            throw new IllegalTransitionException("reservation " + r.id() + " is " + r.status().wire()
                    + ": only preparing or active reservations can be extended");
        }
        if (r.expiresAt() != null && !r.expiresAt().isAfter(now)) {
            throw new IllegalTransitionException("reservation " + r.id() + " has already reached its end");
        }
        BigDecimal total = r.durationHours().add(hours);
        if (total.compareTo(MAX_LIFETIME_HOURS) > 0) {
            BigDecimal left = MAX_LIFETIME_HOURS.subtract(r.durationHours()).max(BigDecimal.ZERO);
            throw new IllegalTransitionException("a reservation lives at most 48 hours in all; this one can grow by "
                    + left.stripTrailingZeros().toPlainString() + " more hours");
        }
        return total;
    }

    /** Fractional hours as a duration, exact to the nanosecond: the one conversion everyone uses. */
    public static Duration toDuration(BigDecimal hours) {
        return Duration.ofNanos(hours.multiply(BigDecimal.valueOf(3_600_000_000_000L)).longValue());
    }

    /**
     * Why extending a running reservation to {@code newEnd} would break a booking ahead, or null when it
     * would not: a booking planned on one of its nodes that starts before the new end (plus the grace)
     * and finds too few GPUs there at its start with this reservation still holding its own. The message
     * says until when it could be extended instead.
     *
     * @param holding  every reservation holding GPUs now (this one among them)
     * @param bookings waiting bookings, with the nodes the last plan kept for them
     */
    public static String breaksBooking(Reservation r, Instant newEnd, Duration grace, Capacity capacity, java.util.List<Reservation> holding,
                                       java.util.List<Reservation> bookings) {
        if (r.placement() == null) {
            return null;
        }
        for (Reservation.Placement.Slice slice : r.placement().slices()) {
            int size = capacity.nodes().stream().filter(n -> n.name().equals(slice.node())).mapToInt(n -> n.gpus().size()).findFirst().orElse(0);
            for (Reservation b : bookings) {
                Instant start = b.options().startAt();
                if (start == null || b.queue() == null || !b.queue().plannedNodes().contains(slice.node())
                        || !start.isBefore(newEnd.plus(grace))) {
                    continue; // not on this node, or it starts after the new end
                }
                if (r.expiresAt() != null && !start.isAfter(r.expiresAt())) {
                    continue; // it was planned with this reservation holding: nothing changes for it
                }
                int used = slice.gpuCount() + perNode(b);
                for (Reservation h : holding) {
                    if (h.id().equals(r.id()) || h.placement() == null || h.expiresAt() == null || !h.expiresAt().plus(grace).isAfter(start)) {
                        continue;
                    }
                    for (var hs : h.placement().slices()) {
                        if (hs.node().equals(slice.node())) {
                            used += hs.gpuCount();
                        }
                    }
                }
                for (Reservation other : bookings) {
                    Instant os = other.options().startAt();
                    if (other == b || os == null || other.queue() == null || !other.queue().plannedNodes().contains(slice.node())) {
                        continue;
                    }
                    Instant oe = os.plus(toDuration(other.durationHours())).plus(grace);
                    if (!os.isAfter(start) && oe.isAfter(start)) {
                        used += perNode(other);
                    }
                }
                if (used > size) {
                    Instant until = start.minus(grace);
                    return "a booking starts on " + slice.node() + " at " + start + " and needs these GPUs: extend to end by " + until
                            + (r.launchedAt() == null ? "" : " at the latest (" + hoursBetween(r.expiresAt(), until) + " more hours)");
                }
            }
        }
        return null;
    }

    private static int perNode(Reservation b) {
        int nodes = Math.max(1, b.queue().plannedNodes().size());
        return b.gpuCount() / nodes;
    }

    private static String hoursBetween(Instant from, Instant to) {
        if (from == null || !to.isAfter(from)) {
            return "0";
        }
        return BigDecimal.valueOf(Duration.between(from, to).toMinutes()).divide(BigDecimal.valueOf(60), 2, java.math.RoundingMode.DOWN)
                .stripTrailingZeros().toPlainString();
    }
}
