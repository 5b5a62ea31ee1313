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
}
