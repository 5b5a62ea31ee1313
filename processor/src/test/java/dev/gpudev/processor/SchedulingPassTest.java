package dev.gpudev.processor;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import dev.gpudev.store.SchedulerState;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The scheduling pass on its own: its phases, what it reuses between passes, and what it says it did. */
class SchedulingPassTest extends ProcessorFixture {
    SchedulingPass pass() {
        var settings = ProcessorSettings.defaults();
        return new SchedulingPass(db, reservations, new SchedulerState(), clock, new Scheduler(settings.limits(), settings.grace()));
    }

    LiveSet live() {
        return new LiveSet(db.query(c -> reservations.withStatus(c, false, LiveSet.states())));
    }

    @Test
    void aPassAdmitsWhatFitsWritesTheRestsPlacesAndSaysWhatItDid() {
        UUID a = submit(alice, 4, "1", Reservation.Options.NONE);
        UUID b = submit(bob, 4, "1", Reservation.Options.NONE);
        UUID c = submit(alice, 4, "1", Reservation.Options.NONE);
        LiveSet live = live();
        var stats = pass().run(live, capacity());
        assertEquals(new SchedulingPass.Stats(PlanCache.Mode.FULL, 3, stats.readMs(), stats.planMs(), 3, stats.writeMs(), 2), stats);
        assertEquals(ReservationStatus.PREPARING, get(a).status());
        assertEquals(ReservationStatus.PREPARING, get(b).status());
        assertEquals(ReservationStatus.QUEUED, get(c).status());
        assertEquals(1, get(c).queuePosition());
        assertEquals(List.of(a, b), live.all().stream().map(Reservation::id).sorted(java.util.Comparator.comparing(a::equals).reversed()).toList(),
                "what it admitted joins the live set");
    }

    @Test
    void whileNothingElseChangesOnlyArrivalsArePlannedAndOnlyTheirRowsWritten() {
        SchedulingPass pass = pass();
        LiveSet live = live();
        submit(alice, 8, "1", Reservation.Options.NONE);
        assertEquals(1, pass.run(live, capacity()).admitted());
        UUID first = submit(bob, 4, "1", Reservation.Options.NONE);
        pass.arrived(List.of(first));
        var stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.FULL, stats.mode(), "after an admission the holders changed: everything is planned again");
        UUID second = submit(bob, 4, "1", Reservation.Options.NONE);
        pass.arrived(List.of(second));
        stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.ARRIVALS, stats.mode());
        assertEquals(1, stats.planned());
        assertEquals(1, stats.written(), "the first's place is as it was: not written again");
        assertEquals(2, get(second).queuePosition());
        assertEquals(PlanCache.Mode.NONE, pass.run(live, capacity()).mode(), "no arrival, nothing else: nothing to plan");
        clock.advance(PlanCache.FULL_PLAN_EVERY.plusSeconds(1));
        stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.FROM_MEMORY, stats.mode(), "a minute on, planned again from the kept queue, not read");
        assertEquals(2, stats.planned());
        clock.advance(KeptQueue.FULL_READ_EVERY);
        assertEquals(PlanCache.Mode.FULL, pass.run(live, capacity()).mode(), "the kept queue is read again at least every 10 minutes");
        pass.replan(); // something besides arrivals changed (a cancel, a sweep)
        assertEquals(PlanCache.Mode.FULL, pass.run(live, capacity()).mode());
    }

    @Test
    void whatAnotherReplicaAdmittedIsReadAgainBeforeThisOnePlacesAnything() {
        SchedulingPass mine = pass();
        SchedulingPass theirs = pass();
        LiveSet seenByMine = live();
        mine.run(seenByMine, capacity()); // nothing to do yet; its epoch is 1
        UUID a = submit(alice, 8, "1", Reservation.Options.NONE);
        assertEquals(1, theirs.run(live(), capacity()).admitted(), "the other replica admits a on all 8 GPUs");
        UUID b = submit(bob, 8, "1", Reservation.Options.NONE);
        mine.arrived(List.of(a, b));
        var stats = mine.run(seenByMine, capacity()); // its live set was read before a was admitted
        assertEquals(0, stats.admitted(), "b must not be placed on a's GPUs");
        assertEquals(ReservationStatus.QUEUED, get(b).status());
        assertEquals(List.of(a), seenByMine.ids(), "the holders were read again under the lock");
    }
}
