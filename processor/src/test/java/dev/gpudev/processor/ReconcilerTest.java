package dev.gpudev.processor;

import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import dev.gpudev.store.SchedulerState;
import dev.gpudev.store.SshKeys;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reconciler on its own (backend calls made at once): rows to environments, and back. */
class ReconcilerTest extends ProcessorFixture {
    final ProcessorSettings settings = ProcessorSettings.defaults().withWorkers(ProcessorSettings.Workers.inline());
    BackendCalls calls;

    Reconciler reconciler() {
        calls = new BackendCalls(backend, settings.workers(), () -> { });
        return new Reconciler(db, reservations, new SshKeys(), backend, clock, calls);
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

    /** Admitted by a scheduling pass of its own: PREPARING, placed, no environment yet. */
    UUID admitted(int gpus) {
        UUID id = submit(gpus, "1");
        new SchedulingPass(db, reservations, new SchedulerState(), new dev.gpudev.store.GpuHours(), settings.fairShare(), clock,
                new Scheduler(settings.limits(), settings.grace()), calls)
                .run(live(), capacity());
        assertEquals(ReservationStatus.PREPARING, get(id).status());
        return id;
    }

    @Test
    void anAdmittedReservationIsMadeAndIsActiveOnceItsEnvironmentIsReady() {
        backend.startingFor = 2; // two looks (the reconciler's own, after its ensure, and the next cycle's) see it starting
        UUID id = admitted(2);
        Reconciler reconciler = reconciler();
        reconciler.run(live(), backend.observe());
        String name = Reservation.environmentName(id);
        assertNotNull(backend.env(name), "asked to be made");
        assertEquals(2, backend.env(name).spec.gpuCount());
        reconciler.run(live(), backend.observe()); // still starting
        assertEquals(ReservationStatus.PREPARING, get(id).status());
        reconciler.run(live(), backend.observe());
        Reservation r = get(id);
        assertEquals(ReservationStatus.ACTIVE, r.status());
        assertEquals(backend.env(name).port, r.connection().port());
        assertEquals(1, backend.env(name).ensures, "made once: an environment as it should be is not asked for again within the minute");
    }

    @Test
    void aRefusalForGoodFailsTheReservationWithTheBackendsWords() {
        UUID id = admitted(1);
        backend.ensureFails = new dev.gpudev.backend.spi.BackendException("image registry.example/x:1 does not exist", false);
        Reconciler reconciler = reconciler();
        reconciler.run(live(), backend.observe());
        reconciler.run(live(), backend.observe());
        Reservation r = get(id);
        assertEquals(ReservationStatus.FAILED, r.status());
        assertTrue(r.detailedStatus().contains("does not exist"), r.detailedStatus());
    }

    @Test
    void anEnvironmentNoLiveReservationOwnsIsRemoved() throws Exception {
        UUID nobody = UUID.randomUUID();
        String name = Reservation.environmentName(nobody);
        backend.ensure(new EnvironmentSpec(nobody, name, 0, new EnvironmentSpec.Owner(alice, "alice"), "n0", 1, List.of(), null,
                new EnvironmentSpec.Home.Scratch(), null, null));
        reconciler().run(live(), backend.observe());
        assertFalse(backend.observe().containsKey(name));
    }
}
