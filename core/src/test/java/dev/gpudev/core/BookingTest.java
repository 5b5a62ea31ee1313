package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bookings ahead: the window is kept free, backfill fills before it, it starts on time or says why not. */
class BookingTest {
    static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");
    final Scheduler scheduler = new Scheduler(Scheduler.Limits.none(), Duration.ofMinutes(1));

    static Reservation waiting(int gpus, String hours, int secondsAgo, Instant startAt) {
        return new Reservation(UUID.randomUUID(), secondsAgo, "u", ReservationStatus.QUEUED, "h100", gpus, new BigDecimal(hours), null,
                NOW.minusSeconds(secondsAgo), null, null, null, null, null, null, null,
                new Reservation.Lifecycle(List.of(), null, null, false, null, false, Reservation.Options.NONE.withStartAt(startAt)), List.of());
    }

    Scheduler.Plan plan(List<Reservation> holding, List<Reservation> queued, Instant at) {
        return scheduler.plan(new Scheduler.Snapshot(SchedulerTest.nodes(1, 8), holding), queued, at);
    }

    @Test
    void theWindowIsKeptFreeAndBackfillFillsBeforeIt() {
        Instant at = NOW.plus(Duration.ofHours(3));
        var booking = waiting(8, "2", 10, at);
        var fitsBefore = waiting(8, "2", 600, null); // older, 2 h (+1 min grace): ends before the window
        var wouldOverrun = waiting(8, "4", 900, null); // older still, 4 h: would run into the window
        var plan = plan(List.of(), List.of(wouldOverrun, fitsBefore, booking), NOW);
        assertEquals(List.of(fitsBefore.id()), plan.admissions().stream().map(Scheduler.Admission::reservationId).toList(),
                "what ends before the window starts now; what would overrun it does not");
        var b = plan.waiting().stream().filter(w -> w.reservationId().equals(booking.id())).findFirst().orElseThrow();
        assertEquals(at, b.estimatedStart());
        assertEquals(Scheduler.PendingReason.BOOKED, b.reason());
        var o = plan.waiting().stream().filter(w -> w.reservationId().equals(wouldOverrun.id())).findFirst().orElseThrow();
        assertEquals(at.plus(Duration.ofHours(2)).plusSeconds(60), o.estimatedStart(), "after the window");
    }

    @Test
    void itStartsOnTimeAndNotBefore() {
        Instant at = NOW.plus(Duration.ofHours(1));
        var booking = waiting(4, "1", 10, at);
        assertTrue(plan(List.of(), List.of(booking), NOW).admissions().isEmpty(), "free GPUs, but not before its start");
        assertEquals(List.of(booking.id()), plan(List.of(), List.of(booking), at).admissions().stream()
                .map(Scheduler.Admission::reservationId).toList());
    }

    @Test
    void aBookingWhoseGpusAreHeldPastItsStartSaysItIsLate() {
        Instant at = NOW.plus(Duration.ofHours(1));
        var holder = new Reservation(UUID.randomUUID(), 99, "h", ReservationStatus.ACTIVE, "h100", 8, new BigDecimal("3"), null,
                NOW, NOW, NOW.plus(Duration.ofHours(2)), Reservation.Placement.of("n0", 8), null, null, null, null, null, List.of());
        var booking = waiting(8, "1", 10, at);
        var w = plan(List.of(holder), List.of(booking), NOW).waiting().getFirst();
        assertEquals(Scheduler.PendingReason.WAITING_FOR_CAPACITY, w.reason());
        assertEquals(NOW.plus(Duration.ofHours(2)).plusSeconds(60), w.estimatedStart());
    }
}
