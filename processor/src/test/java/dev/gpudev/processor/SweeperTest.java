package dev.gpudev.processor;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.store.ProxySessions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sweeper on its own (backend calls made at once): ends, warnings and the queue's age limit. */
class SweeperTest extends ProcessorFixture {
    final ProcessorSettings settings = ProcessorSettings.defaults().withWorkers(ProcessorSettings.Workers.inline());
    BackendCalls calls;

    Sweeper sweeper() {
        calls = new BackendCalls(backend, settings.workers(), () -> { });
        return new Sweeper(db, reservations, new ProxySessions(), backend, clock, settings, calls);
    }

    @AfterEach
    void closeCalls() {
        if (calls != null) {
            calls.close();
        }
    }

    LiveSet live() {
        return new LiveSet(db.query(c -> reservations.withStatus(c, false, LiveSet.states())));
    }

    /** Brought to ACTIVE by a processor, which is then set aside: the sweeper alone works from here. */
    UUID active(int gpus, String hours) {
        UUID id = submit(gpus, hours);
        try (Processor p = processor()) {
            for (int i = 0; i < 5 && get(id).status() != ReservationStatus.ACTIVE; i++) {
                p.cycle();
            }
        }
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
        return id;
    }

    @Test
    void aReservationPastItsEndAndTheGraceIsExpiredAndItsEnvironmentRemoved() {
        UUID id = active(2, "1");
        Sweeper sweeper = sweeper();
        clock.advance(Duration.ofMinutes(60));
        assertFalse(sweeper.sweep(live()), "within the grace minute it lives on");
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
        clock.advance(settings.grace());
        assertTrue(sweeper.sweep(live()));
        assertEquals(ReservationStatus.EXPIRED, get(id).status());
        assertFalse(backend.observe().containsKey(Reservation.environmentName(id)), "its environment is removed");
    }

    @Test
    void aWarningPassedLongAgoIsNotSaidLateAndEachIsSaidOnce() {
        UUID id = active(1, "1");
        Sweeper sweeper = sweeper();
        clock.advance(Duration.ofMinutes(50)); // 10 minutes left: the 30- and 15-minute thresholds passed minutes ago
        sweeper.sweep(live());
        var notices = backend.env(Reservation.environmentName(id)).notices;
        assertEquals(java.util.Set.of(), notices.keySet(), "a 15-minute file would say 10");
        assertEquals(java.util.List.of(15, 30), get(id).lifecycle().warningsSent().stream().sorted().toList());
        clock.advance(Duration.ofMinutes(5));
        sweeper.sweep(live());
        assertTrue(notices.get("WARN_EXPIRES_IN_5MIN.txt").contains("expires in 5 minutes"), notices.toString());
        sweeper.sweep(live());
        assertEquals(1, notices.size(), "said once");
    }

    @Test
    void aReservationWaitingLongerThanTheQueuesLimitIsCancelledWithTheReason() {
        UUID id = submit(alice, 8, "1", Reservation.Options.NONE);
        Sweeper sweeper = sweeper();
        clock.advance(settings.queuedMaxAge().plusMinutes(1));
        assertTrue(sweeper.sweep(live()));
        Reservation r = get(id);
        assertEquals(ReservationStatus.CANCELLED, r.status());
        assertTrue(r.detailedStatus().contains("waited longer than 48 hours"), r.detailedStatus());
    }
}
