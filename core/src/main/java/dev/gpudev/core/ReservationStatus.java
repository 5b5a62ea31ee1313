package dev.gpudev.core;

import java.util.Locale;
import java.util.Set;

/** The states of a reservation and the only transitions between them. */
public enum ReservationStatus {
    QUEUED, PREPARING, ACTIVE, EXPIRED, CANCELLED, FAILED;

    public boolean isTerminal() {
        return this == EXPIRED || this == CANCELLED || this == FAILED;
    }

    /** Whether a reservation in this state holds GPUs (they are not free for others). */
    public boolean holdsGpus() {
        return this == PREPARING || this == ACTIVE;
    }

    public boolean canTransitionTo(ReservationStatus next) {
        return switch (this) {
            case QUEUED -> Set.of(PREPARING, CANCELLED, FAILED).contains(next);
            case PREPARING -> Set.of(ACTIVE, CANCELLED, FAILED, EXPIRED).contains(next);
            case ACTIVE -> Set.of(EXPIRED, CANCELLED, FAILED).contains(next);
            case EXPIRED, CANCELLED, FAILED -> false;
        };
    }

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ReservationStatus parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ValidationException("unknown status '" + s + "': expected one of queued, preparing, active, expired, cancelled, failed");
        }
    }
}
