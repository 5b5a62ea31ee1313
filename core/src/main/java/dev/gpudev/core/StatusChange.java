package dev.gpudev.core;

import java.time.Instant;

/** One entry of a reservation's status history. */
public record StatusChange(ReservationStatus status, Instant at, String reason) {
}
