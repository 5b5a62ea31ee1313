package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import static dev.gpudev.core.ReservationStatus.ACTIVE;
import static dev.gpudev.core.ReservationStatus.CANCELLED;
import static dev.gpudev.core.ReservationStatus.EXPIRED;
import static dev.gpudev.core.ReservationStatus.FAILED;
import static dev.gpudev.core.ReservationStatus.PREPARING;
import static dev.gpudev.core.ReservationStatus.QUEUED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReservationStatusTest {
    @Test
    void theLifecycleMovesForwardOnly() {
        assertTrue(QUEUED.canTransitionTo(PREPARING));
        assertTrue(PREPARING.canTransitionTo(ACTIVE));
        assertTrue(ACTIVE.canTransitionTo(EXPIRED));
        assertFalse(ACTIVE.canTransitionTo(QUEUED));
        assertFalse(QUEUED.canTransitionTo(ACTIVE));
        assertFalse(QUEUED.canTransitionTo(EXPIRED));
    }

    @Test
    void everyLiveStateCanBeCancelledOrFailAndTerminalStatesAreFinal() {
        for (ReservationStatus s : new ReservationStatus[] {QUEUED, PREPARING, ACTIVE}) {
            assertTrue(s.canTransitionTo(CANCELLED), s.name());
            assertTrue(s.canTransitionTo(FAILED), s.name());
        }
        for (ReservationStatus t : new ReservationStatus[] {EXPIRED, CANCELLED, FAILED}) {
            assertTrue(t.isTerminal());
            for (ReservationStatus any : ReservationStatus.values()) {
                assertFalse(t.canTransitionTo(any));
            }
        }
    }

    @Test
    void parsesTheWireNamesAndRefusesOthers() {
        assertEquals(ACTIVE, ReservationStatus.parse("active"));
        assertEquals("cancelled", CANCELLED.wire());
        assertThrows(ValidationException.class, () -> ReservationStatus.parse("running"));
    }
}
