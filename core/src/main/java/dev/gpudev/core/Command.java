package dev.gpudev.core;

import java.math.BigDecimal;
import java.util.UUID;

/**
 * What the API asks of the processor, through the queue. The database row is the truth; a command
 * says what to do about it. Every command says who asked.
 */
public sealed interface Command {
    String requestedBy();

    /** A reservation's command: the processor locks its row while applying it. */
    sealed interface OfReservation extends Command {
        UUID reservationId();
    }

    /** A new reservation was stored: only a wake-up for scheduling (the row came with it). */
    record Create(UUID reservationId, String requestedBy) implements OfReservation {
    }

    record Cancel(UUID reservationId, String requestedBy) implements OfReservation {
    }

    record Extend(UUID reservationId, String requestedBy, BigDecimal hours) implements OfReservation {
    }

    /** A waiting reservation's duration set to {@code hours} (it keeps its place in line). */
    record Resize(UUID reservationId, String requestedBy, BigDecimal hours) implements OfReservation {
    }

    record AddUser(UUID reservationId, String requestedBy, String username) implements OfReservation {
    }

    record Jupyter(UUID reservationId, String requestedBy, boolean enable) implements OfReservation {
    }

    /** A disk's row is gone (the API removed it with this command); its files go, found by its stable id. */
    record DeleteDisk(long diskId, String owner, String name, String requestedBy) implements Command {
    }

    /** A rename or listing recorded in disk_operations, carried out where the files are. */
    record DiskOperation(long operationId, String requestedBy) implements Command {
    }
}
