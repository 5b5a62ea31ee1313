package dev.gpudev.processor;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Scheduler;
import dev.gpudev.store.SchedulerState;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scheduling pass on its own: its phases, what it reuses between passes, and what it says it did. */
class SchedulingPassTest extends ProcessorFixture {
    SchedulingPass pass() {
        var settings = ProcessorSettings.defaults();
        return new SchedulingPass(db, reservations, new SchedulerState(), new dev.gpudev.store.GpuHours(), settings.fairShare(), clock,
                new Scheduler(settings.limits(), settings.grace()), new BackendCalls(backend, ProcessorSettings.Workers.inline(), () -> { }));
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
    void aPassNeverWaitsForTheQueuesPositionsToBeWritten() throws Exception {
        var settings = ProcessorSettings.defaults();
        var calls = new BackendCalls(backend, ProcessorSettings.Workers.defaults(), () -> { });
        SchedulingPass pass = new SchedulingPass(db, reservations, new SchedulerState(), new dev.gpudev.store.GpuHours(), settings.fairShare(),
                clock, new Scheduler(settings.limits(), settings.grace()), calls);
        try {
            submit(alice, 8, "1", Reservation.Options.NONE);
            UUID waiting = submit(bob, 4, "1", Reservation.Options.NONE);
            // another transaction holds the waiting row (a slow statement, a saturated database): its update must wait
            try (var holder = db.openDedicated()) {
                holder.setAutoCommit(false);
                try (var ps = holder.prepareStatement("select 1 from reservations where reservation_id = ? for update")) {
                    ps.setObject(1, waiting);
                    ps.executeQuery().close();
                }
                var done = java.util.concurrent.CompletableFuture.supplyAsync(() -> pass.run(live(), capacity()));
                var stats = done.get(30, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(1, stats.admitted(), "the pass went on while the row was held");
                assertEquals(null, get(waiting).queuePosition(), "not written yet: the writer waits for the row, not the pass");
                holder.rollback();
            }
            java.time.Instant deadline = java.time.Instant.now().plusSeconds(30);
            while (get(waiting).queuePosition() == null) {
                assertTrue(java.time.Instant.now().isBefore(deadline), "the writer wrote it once the row was free");
                Thread.sleep(20);
            }
            assertEquals(1, get(waiting).queuePosition());
        } finally {
            pass.close();
            calls.close();
        }
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

    /** The user held GPUs for these hours, ending an hour ago (an expired reservation). */
    void used(long user, int gpus, int hours) {
        java.time.Instant now = clock.instant();
        db.inTransaction(c -> {
            try (var ps = c.prepareStatement("""
                    insert into reservations (reservation_id, user_id, status, gpu_type, gpu_count, duration_hours, created_at,
                        launched_at, status_changed_at) values (?, ?, 'expired', 'h100', ?, ?, ?, ?, ?)""")) {
                ps.setObject(1, UUID.randomUUID());
                ps.setLong(2, user);
                ps.setInt(3, gpus);
                ps.setInt(4, hours);
                ps.setTimestamp(5, java.sql.Timestamp.from(now.minusSeconds(3600L * (hours + 2))));
                ps.setTimestamp(6, java.sql.Timestamp.from(now.minusSeconds(3600L * (hours + 1))));
                ps.setTimestamp(7, java.sql.Timestamp.from(now.minusSeconds(3600)));
                ps.executeUpdate();
            }
            return null;
        });
    }

    @Test
    void whoUsedLessLatelyGoesAheadAndTheRowSaysWhy() {
        used(alice, 8, 24); // alice had the whole node yesterday; bob nothing
        SchedulingPass pass = pass();
        LiveSet live = live();
        UUID holder = submit(bob, 8, "1", Reservation.Options.NONE);
        assertEquals(1, pass.run(live, capacity()).admitted());
        UUID hers = submit(alice, 8, "1", Reservation.Options.NONE);
        UUID his = submit(bob, 8, "1", Reservation.Options.NONE);
        pass.arrived(List.of(hers, his));
        var stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.FULL, stats.mode());
        assertEquals(1, get(his).queuePosition(), "bob asked later but used less");
        assertEquals(2, get(hers).queuePosition());
        assertTrue(get(hers).detailedStatus().contains("1 of those ahead is a younger reservation of users who used less GPU time lately"),
                get(hers).detailedStatus());
        assertTrue(pass.standings().standing(alice).factor() < pass.standings().standing(bob).factor());
        assertTrue(get(his).estimatedStart().isBefore(get(hers).estimatedStart()), "bob's starts when the holder's hour is over");
        assertEquals(ReservationStatus.PREPARING, get(holder).status());

        UUID again = submit(bob, 8, "1", Reservation.Options.NONE);
        pass.arrived(List.of(again));
        stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.INSERTED, stats.mode(), "bob's arrival goes ahead of alice's: planned again from memory");
        assertEquals(2, get(again).queuePosition());
        assertEquals(3, get(hers).queuePosition(), "alice's place moved back by one");
        assertEquals(3, stats.written(), "the arrival's row, the one it went ahead of, and bob's first (its estimate counts from"
                + " now while the holder prepares): not the whole queue");

        UUID soonAfter = submit(bob, 8, "1", Reservation.Options.NONE); // goes ahead of alice's too, a moment after the last plan of everything
        pass.arrived(List.of(soonAfter));
        stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.ARRIVALS, stats.mode(), "at most one plan of everything per " + SchedulingPass.INSERT_EVERY);
        assertEquals(4, get(soonAfter).queuePosition(), "behind everyone for a moment: an estimate that can only improve");
        clock.advance(SchedulingPass.INSERT_EVERY);
        stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.FROM_MEMORY, stats.mode());
        assertEquals(3, get(soonAfter).queuePosition(), "then where it belongs");
        assertEquals(4, get(hers).queuePosition());

        UUID hersToo = submit(alice, 8, "1", Reservation.Options.NONE);
        pass.arrived(List.of(hersToo));
        stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.ARRIVALS, stats.mode(), "alice's second goes behind everyone: only it is planned");
        assertEquals(5, get(hersToo).queuePosition());
    }

    @Test
    void aPassWritesAtMostItsShareOfRowsAndTheRestOnTheNextPasses() {
        used(alice, 8, 24);
        SchedulingPass pass = pass();
        LiveSet live = live();
        submit(bob, 8, "1", Reservation.Options.NONE);
        assertEquals(1, pass.run(live, capacity()).admitted());
        int deep = KeptQueue.WRITES_PER_PASS + 200;
        for (int i = 0; i < deep; i++) {
            submit(alice, 1, "1", Reservation.Options.NONE);
        }
        var stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.FULL, stats.mode());
        assertEquals(KeptQueue.WRITES_PER_PASS, stats.written(), "the first pass writes its share");
        assertEquals(200, pass.run(live, capacity()).written(), "the next writes the rest");
        assertEquals(deep, db.query(c -> reservations.withStatus(c, false, ReservationStatus.QUEUED)).stream()
                .filter(r -> r.queuePosition() != null).count());

        UUID his = submit(bob, 1, "1", Reservation.Options.NONE); // goes ahead of all of alice's
        pass.arrived(List.of(his));
        stats = pass.run(live, capacity());
        assertEquals(PlanCache.Mode.INSERTED, stats.mode());
        assertEquals(KeptQueue.WRITES_PER_PASS, stats.written(), "every place behind it moved; a pass writes its share, the front first");
        assertEquals(1, get(his).queuePosition());
        assertEquals(201, pass.run(live, capacity()).written());
        assertEquals(PlanCache.Mode.NONE, pass.run(live, capacity()).mode(), "all written: nothing to do");
        var positions = db.query(c -> reservations.withStatus(c, false, ReservationStatus.QUEUED)).stream()
                .map(Reservation::queuePosition).sorted().toList();
        assertEquals(java.util.stream.IntStream.rangeClosed(1, deep + 1).boxed().toList(), positions);
    }
}
