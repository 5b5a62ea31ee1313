package dev.gpudev.processor;

import dev.gpudev.core.Command;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.store.Disks;
import dev.gpudev.store.ReservationUsers;
import dev.gpudev.store.SchedulerState;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command applier on its own: what a round of commands did, and what it tells the scheduler. */
class CommandApplierTest extends ProcessorFixture {
    final ProcessorSettings settings = ProcessorSettings.defaults().withWorkers(ProcessorSettings.Workers.inline());
    BackendCalls calls;

    CommandApplier applier() {
        calls = new BackendCalls(backend, settings.workers(), () -> { });
        var disks = new DiskOperations(db, reservations, new Disks(), new SchedulerState(), clock, calls);
        return new CommandApplier(db, pgmq, commands, reservations, clock, settings, calls,
                new ReservationCommands(reservations, new ReservationUsers(), new Users(), clock), disks);
    }

    @AfterEach
    void closeCalls() {
        if (calls != null) {
            calls.close();
        }
    }

    @Test
    void createsAreArrivalsAndACancelIsAChangeThatEndsTheReservation() {
        CommandApplier applier = applier();
        UUID a = submit(2, "1");
        UUID b = submit(2, "1");
        var outcome = applier.applyAll();
        assertEquals(List.of(a, b), outcome.arrivals());
        assertFalse(outcome.changed(), "arrivals alone: the kept plan is extended, not made again");
        assertEquals(0, queueLength(), "each command taken off the queue");
        send(new Command.Cancel(a, "alice"));
        outcome = applier.applyAll();
        assertTrue(outcome.changed());
        assertEquals(List.of(), outcome.arrivals());
        assertEquals(ReservationStatus.CANCELLED, get(a).status());
        assertEquals(ReservationStatus.QUEUED, get(b).status());
    }

    @Test
    void aCancelSaysWhoCancelledAndASecondOneChangesNothing() {
        CommandApplier applier = applier();
        UUID a = submit(2, "1");
        applier.applyAll();
        send(new Command.Cancel(a, "admin")); // the API decided who may; the processor records who did
        applier.applyAll();
        var cancelled = get(a);
        assertEquals(ReservationStatus.CANCELLED, cancelled.status());
        assertTrue(cancelled.history().getLast().reason().contains("cancelled by admin"), cancelled.history().toString());
        send(new Command.Cancel(a, "alice"));
        applier.applyAll();
        assertEquals(cancelled.history(), get(a).history(), "ended already: nothing more happens");
        assertEquals(0, queueLength());
    }
}
