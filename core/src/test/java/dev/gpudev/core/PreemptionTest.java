package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Priority classes and preemption in the plan: victims chosen as Kueue does, never more than needed. */
class PreemptionTest {
    static final Instant NOW = Instant.parse("2026-12-01T12:00:00Z");
    static final Duration NOTICE = Duration.ofMinutes(10);
    static final Duration GRACE = Duration.ofMinutes(1);
    final Scheduler scheduler = new Scheduler(Scheduler.Limits.none(), GRACE, NOTICE);

    static Reservation holder(long user, String node, int gpus, PriorityClass p, Instant launched, Duration left) {
        return new Reservation(UUID.randomUUID(), user, "u" + user, ReservationStatus.ACTIVE, "h100", gpus, BigDecimal.valueOf(8), null,
                launched, launched, NOW.plus(left), Reservation.Placement.of(node, gpus), null, null, null, null,
                new Reservation.Lifecycle(List.of(), null, null, false, null, false, Reservation.Options.NONE.withPriority(p)), List.of());
    }

    static Reservation waiting(long user, int gpus, String hours, PriorityClass p, int secondsAgo) {
        return new Reservation(UUID.randomUUID(), user, "u" + user, ReservationStatus.QUEUED, "h100", gpus, new BigDecimal(hours), null,
                NOW.minusSeconds(secondsAgo), null, null, null, null, null, null, null,
                new Reservation.Lifecycle(List.of(), null, null, false, null, false, Reservation.Options.NONE.withPriority(p)), List.of());
    }

    Scheduler.Plan plan(List<Reservation> holding, List<Reservation> queued, int nodes) {
        return scheduler.plan(new Scheduler.Snapshot(SchedulerTest.nodes(nodes, 8), holding), queued, NOW);
    }

    @Test
    void aReservationWithABetterClaimPreemptsOnlyTheYoungestItNeeds() {
        var older = holder(1, "n0", 4, PriorityClass.PREEMPTIBLE, NOW.minus(Duration.ofHours(3)), Duration.ofHours(5));
        var younger = holder(2, "n0", 4, PriorityClass.PREEMPTIBLE, NOW.minus(Duration.ofHours(1)), Duration.ofHours(7));
        var normal = waiting(3, 4, "2", PriorityClass.NORMAL, 60);
        var plan = plan(List.of(older, younger), List.of(normal), 1);
        assertEquals(List.of(new Scheduler.Preemption(younger.id(), NOW.plus(NOTICE))), plan.preemptions(),
                "one victim, the youngest, ended after the notice");
        assertEquals(NOW.plus(NOTICE).plus(GRACE), plan.waiting().getFirst().estimatedStart(), "it starts when the victim's GPUs are free");

        var eight = waiting(3, 8, "2", PriorityClass.NORMAL, 60);
        assertEquals(2, plan(List.of(older, younger), List.of(eight), 1).preemptions().size(), "the whole node: both go");
    }

    @Test
    void nobodyIsPreemptedWhereFreeGpusDo() {
        var p = holder(1, "n0", 8, PriorityClass.PREEMPTIBLE, NOW.minus(Duration.ofHours(1)), Duration.ofHours(7));
        var normal = waiting(3, 4, "2", PriorityClass.NORMAL, 60);
        var plan = plan(List.of(p), List.of(normal), 2);
        assertTrue(plan.preemptions().isEmpty());
        assertEquals(1, plan.admissions().size(), "n1 is free");
    }

    @Test
    void aPreemptedOneIsNotPreemptedAgainAndHoldsUntilItsNewEnd() {
        var p = holder(1, "n0", 8, PriorityClass.PREEMPTIBLE, NOW.minus(Duration.ofHours(1)), Duration.ofMinutes(8));
        p = new Reservation(p.id(), p.userId(), p.username(), p.status(), p.gpuType(), p.gpuCount(), p.durationHours(), p.name(),
                p.createdAt(), p.launchedAt(), p.expiresAt(), p.placement(), null, null, null, null,
                new Reservation.Lifecycle(List.of(), null, null, false, null, false, p.options(), null, NOW.minusSeconds(120)), List.of());
        var normal = waiting(3, 8, "2", PriorityClass.NORMAL, 60);
        var plan = plan(List.of(p), List.of(normal), 1);
        assertTrue(plan.preemptions().isEmpty());
        assertEquals(NOW.plus(Duration.ofMinutes(8)).plus(GRACE), plan.waiting().getFirst().estimatedStart());
    }

    @Test
    void aPreemptibleReservationRunsOnGpusIdleNowThatArePlannedForSomeoneLater() {
        var normalHolder = holder(1, "n0", 4, PriorityClass.NORMAL, NOW.minus(Duration.ofHours(1)), Duration.ofHours(2));
        var big = waiting(2, 8, "4", PriorityClass.NORMAL, 600); // the whole node, in 2 hours
        var small = waiting(3, 4, "8", PriorityClass.PREEMPTIBLE, 900); // older, but preemptible: planned after
        var plan = plan(List.of(normalHolder), List.of(small, big), 1);
        assertEquals(List.of(small.id()), plan.admissions().stream().map(Scheduler.Admission::reservationId).toList(),
                "the idle half runs the preemptible one now");
        assertEquals(NOW.plus(Duration.ofHours(2)).plus(GRACE), plan.waiting().getFirst().estimatedStart(), "the big one's start stands");

        // Later: it holds the idle half; when the big one's start comes within the notice, it is preempted.
        var running = holder(3, "n0", 4, PriorityClass.PREEMPTIBLE, NOW, Duration.ofHours(8));
        var early = scheduler.plan(new Scheduler.Snapshot(SchedulerTest.nodes(1, 8), List.of(normalHolder, running)), List.of(big), NOW);
        assertTrue(early.preemptions().isEmpty(), "two hours ahead: it runs on");
        Instant later = NOW.plus(Duration.ofHours(2)).minus(NOTICE);
        var due = scheduler.plan(new Scheduler.Snapshot(SchedulerTest.nodes(1, 8), List.of(normalHolder, running)), List.of(big), later);
        assertEquals(List.of(new Scheduler.Preemption(running.id(), NOW.plus(Duration.ofHours(2)))), due.preemptions(),
                "told a notice ahead of when the big one's GPUs are due");
    }

    @Test
    void preemptibleGoesLastAndHighFirst() {
        var oldPreemptible = waiting(1, 8, "1", PriorityClass.PREEMPTIBLE, 7200);
        var normal = waiting(2, 8, "1", PriorityClass.NORMAL, 600);
        var high = waiting(3, 8, "1", PriorityClass.HIGH, 60);
        var busy = holder(4, "n0", 8, PriorityClass.NORMAL, NOW.minus(Duration.ofHours(1)), Duration.ofHours(1));
        var plan = plan(List.of(busy), List.of(oldPreemptible, normal, high), 1);
        assertEquals(List.of(high.id(), normal.id(), oldPreemptible.id()), plan.waiting().stream().map(Scheduler.Waiting::reservationId).toList());
    }
}
