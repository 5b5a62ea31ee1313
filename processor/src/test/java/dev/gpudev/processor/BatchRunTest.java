package dev.gpudev.processor;

import dev.gpudev.backend.spi.Observed;
import dev.gpudev.core.BatchRun;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batch runs as the processor follows them: the command reaches the backend, its end is recorded, and ends the reservation. */
class BatchRunTest extends ProcessorFixture {

    UUID run(boolean keep) {
        return submit(alice, 1, "4", Reservation.Options.NONE.withRun(new BatchRun(List.of("python", "train.py"), "proj", keep)));
    }

    @Test
    void theCommandReachesTheEnvironmentAndItsEndEndsTheReservationWithItsCode() {
        UUID id = run(false);
        Processor p = processor();
        p.cycle();
        Reservation r = get(id);
        assertEquals(ReservationStatus.ACTIVE, r.status());
        var env = backend.env(r.environmentName());
        assertEquals(List.of("python", "train.py"), env.spec.run().command());
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(id).status(), "it runs");
        env.runEnd = new Observed.RunEnd(3, "epoch 1\nTraceback: boom\n");
        p.cycle();
        r = get(id);
        assertEquals(ReservationStatus.FAILED, r.status());
        assertEquals(3, r.lifecycle().runOutcome().exitCode());
        assertEquals(clock.instant(), r.lifecycle().runOutcome().endedAt());
        assertEquals("the command failed (exit 3)", r.failureReason());
        assertEquals("epoch 1\nTraceback: boom\n", db.query(c -> reservations.runLogTail(c, id)).orElseThrow());
        p.cycle();
        assertFalse(backend.observe().containsKey(r.environmentName()), "its environment goes (its home stays)");
    }

    @Test
    void aCommandThatExitsZeroLetsTheReservationExpire() {
        UUID id = run(false);
        Processor p = processor();
        p.cycle();
        backend.env(get(id).environmentName()).runEnd = new Observed.RunEnd(0, "");
        p.cycle();
        assertEquals(ReservationStatus.EXPIRED, get(id).status());
        assertEquals("the command exited 0", get(id).history().getLast().reason());
        assertNull(get(id).failureReason());
    }

    @Test
    void aKeptRunStaysUntilItsHoursAreUpAndIsRecordedOnce() {
        UUID id = run(true);
        Processor p = processor();
        p.cycle();
        backend.env(get(id).environmentName()).runEnd = new Observed.RunEnd(0, "done\n");
        p.cycle();
        Reservation r = get(id);
        assertEquals(ReservationStatus.ACTIVE, r.status());
        assertEquals(0, r.lifecycle().runOutcome().exitCode());
        var endedAt = r.lifecycle().runOutcome().endedAt();
        int history = r.history().size();
        clock.advance(Duration.ofMinutes(1));
        p.cycle();
        assertEquals(endedAt, get(id).lifecycle().runOutcome().endedAt(), "recorded once");
        assertEquals(history, get(id).history().size());
        assertTrue(r.detailedStatus().contains("kept until its hours are up"), r.detailedStatus());
    }

    @Test
    void aRunningCommandIsUseForIdleDetectionAKeptOneThatEndedIsNot() {
        var idle = new ProcessorSettings.Idle(Duration.ofMinutes(30), Duration.ofMinutes(15), 5, ProcessorSettings.Idle.Action.release);
        Processor p = processor(ProcessorSettings.defaults().withIdle(idle));
        UUID id = run(true);
        p.cycle();
        clock.advance(Duration.ofMinutes(50));
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
        assertNull(get(id).lifecycle().idleWarnedAt(), "no session, no GPU use: still at work while its command runs");
        backend.env(get(id).environmentName()).runEnd = new Observed.RunEnd(0, "");
        p.cycle();
        clock.advance(Duration.ofMinutes(31));
        p.cycle();
        clock.advance(Duration.ofMinutes(16));
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status(), "kept and idle after its command: released as any other");
    }
}
