package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FairShareTest {
    static final Instant MONDAY = Instant.parse("2026-11-23T00:00:00Z");
    static final Instant NEXT_MONDAY = MONDAY.plus(Duration.ofDays(7));
    static final long ALICE = 1, BOB = 2, CAROL = 3;
    final FairShare.Policy policy = FairShare.Policy.defaults();

    static Reservation waiting(long user, int gpus, Instant created) {
        return new Reservation(UUID.randomUUID(), user, "u" + user, ReservationStatus.QUEUED, "h100", gpus, BigDecimal.ONE, null,
                created, null, null, null, null, null, null, null, null, List.of());
    }

    static Reservation holding(long user, String node, int gpus, Instant launched, Duration left) {
        return new Reservation(UUID.randomUUID(), user, "u" + user, ReservationStatus.ACTIVE, "h100", gpus, BigDecimal.ONE, null,
                launched, launched, launched.plus(left), Reservation.Placement.of(node, gpus), null, null, null, null, null, List.of());
    }

    /** The scripted week: alice used 8 GPUs from Wednesday on, bob 8 GPUs on Monday only, carol nothing. */
    FairShare week() {
        double alice = FairShare.decayedGpuHours(8, MONDAY.plus(Duration.ofDays(2)), NEXT_MONDAY, NEXT_MONDAY, policy.halfLife());
        double bob = FairShare.decayedGpuHours(8, MONDAY, MONDAY.plus(Duration.ofDays(1)), NEXT_MONDAY, policy.halfLife());
        return FairShare.of(policy, Map.of(ALICE, alice, BOB, bob), Map.of(), Set.of(CAROL));
    }

    @Test
    void usageDecaysWithTheHalfLifeAsAHandComputationSays() {
        // 8 × 168/ln 2 × (2^(−144/168) − 2^(−168/168)) and 8 × 168/ln 2 × (1 − 2^(−120/168)), by hand
        var fs = week();
        assertEquals(100.914, fs.standing(BOB).usedGpuHours(), 0.001, "bob's 192 GPU-hours of last Monday count about half");
        assertEquals(757.159, fs.standing(ALICE).usedGpuHours(), 0.001);
        assertEquals(0, fs.standing(CAROL).usedGpuHours());
        // shares: a third each; usage shares 0.8824 and 0.1176
        assertEquals(Math.pow(2, -(757.159 / 858.073) * 3), fs.standing(ALICE).factor(), 1e-4);
        assertEquals(Math.pow(2, -(100.914 / 858.073) * 3), fs.standing(BOB).factor(), 1e-4);
        assertEquals(1.0, fs.standing(CAROL).factor());
        assertEquals(1.0 / 3, fs.standing(CAROL).share(), 1e-9);
        // an hour of one GPU used exactly one half-life ago counts (a little more than) half
        double old = FairShare.decayedGpuHours(1, NEXT_MONDAY.minus(Duration.ofDays(7)), NEXT_MONDAY.minus(Duration.ofDays(7)).plusSeconds(3600),
                NEXT_MONDAY, policy.halfLife());
        assertEquals(0.5, old, 0.003);
    }

    @Test
    void onTheScriptedWeekWhoUsedLessGoesFirst() {
        var fs = week();
        // alice asked first, then bob, then carol: all want the one 8-GPU node
        var a = waiting(ALICE, 8, NEXT_MONDAY.minusSeconds(120));
        var b = waiting(BOB, 8, NEXT_MONDAY.minusSeconds(60));
        var c = waiting(CAROL, 8, NEXT_MONDAY);
        var plan = new Scheduler().plan(new Scheduler.Snapshot(SchedulerTest.nodes(1, 8), List.of(), fs), List.of(a, b, c), NEXT_MONDAY);
        assertEquals(c.id(), plan.admissions().getFirst().reservationId(), "carol used nothing this week");
        assertEquals(List.of(b.id(), a.id()), plan.waiting().stream().map(Scheduler.Waiting::reservationId).toList());
        assertEquals(NEXT_MONDAY.plusSeconds(3600), plan.waiting().getFirst().estimatedStart());
        assertEquals(Map.of(c.id(), 0, b.id(), 1, a.id(), 2), FairShare.overtakenBy(List.of(c, b, a)),
                "bob is behind one younger reservation, alice behind two");

        var fifo = new Scheduler().plan(new Scheduler.Snapshot(SchedulerTest.nodes(1, 8), List.of()), List.of(a, b, c), NEXT_MONDAY);
        assertEquals(a.id(), fifo.admissions().getFirst().reservationId(), "without fair share the oldest goes first");
        var off = FairShare.of(FairShare.Policy.off(), Map.of(ALICE, 757.0), Map.of(), Set.of(BOB, CAROL));
        var weightless = new Scheduler().plan(new Scheduler.Snapshot(SchedulerTest.nodes(1, 8), List.of(), off), List.of(c, b, a), NEXT_MONDAY);
        assertEquals(a.id(), weightless.admissions().getFirst().reservationId(), "weight 0 is first come, first served");
    }

    @Test
    void aBiggerShareForgivesMoreUsage() {
        double each = 100;
        var equal = FairShare.of(policy, Map.of(ALICE, each, BOB, each), Map.of(), Set.of());
        assertEquals(0.5, equal.standing(ALICE).factor(), 1e-9, "a user who used exactly their share has factor ½");
        var aliceTwice = FairShare.of(policy, Map.of(ALICE, each, BOB, each), Map.of(ALICE, 2.0), Set.of());
        assertTrue(aliceTwice.standing(ALICE).factor() > aliceTwice.standing(BOB).factor());
        assertEquals(Math.pow(2, -0.5 / (2.0 / 3)), aliceTwice.standing(ALICE).factor(), 1e-9);
        var none = FairShare.of(policy, Map.of(ALICE, each), Map.of(ALICE, 0.0), Set.of(BOB));
        assertEquals(0.0, none.standing(ALICE).factor(), "a share of 0 goes behind everyone of the same age");
    }

    @Test
    void theOrderOfTwoWaitingNeverChangesWhileTheFactorsStay() {
        var fs = week();
        var a = waiting(ALICE, 8, NEXT_MONDAY.minus(Duration.ofHours(20)));
        var c = waiting(CAROL, 8, NEXT_MONDAY);
        for (int hours = 0; hours < 48; hours += 6) {
            Instant t = NEXT_MONDAY.plus(Duration.ofHours(hours));
            assertEquals(fs.priority(a, t) > fs.priority(c, t), fs.key(a) > fs.key(c), "at +" + hours + " h");
        }
        assertEquals(20 + 24 * fs.standing(ALICE).factor(), fs.priority(a, NEXT_MONDAY), 1e-6);
    }

    @Test
    void nobodyStarvesAnOldReservationOfAHeavyUserIsAdmittedUnderContinuousArrivals() {
        var fs = week();
        Scheduler scheduler = new Scheduler();
        var capacity = SchedulerTest.nodes(1, 8);
        var old = waiting(ALICE, 8, NEXT_MONDAY);
        List<Reservation> queue = new ArrayList<>(List.of(old));
        List<Reservation> holding = new ArrayList<>();
        Instant admittedAt = null;
        List<Reservation> before = new ArrayList<>();
        Instant t = NEXT_MONDAY;
        for (int hour = 0; hour < 96 && admittedAt == null; hour++) {
            queue.add(waiting(CAROL, 8, t)); // two one-hour requests an hour from a user who used nothing: the queue grows
            queue.add(waiting(CAROL, 8, t.plusSeconds(1)));
            Instant now = t.plusSeconds(1);
            holding.removeIf(h -> !h.expiresAt().isAfter(now));
            var plan = scheduler.plan(new Scheduler.Snapshot(capacity, holding, fs), queue, now);
            for (var admission : plan.admissions()) {
                Reservation r = queue.stream().filter(q -> q.id().equals(admission.reservationId())).findFirst().orElseThrow();
                queue.remove(r);
                holding.add(holding(r.userId(), "n0", 8, now, Duration.ofHours(1)));
                if (r == old) {
                    admittedAt = t;
                } else {
                    before.add(r);
                }
            }
            t = t.plus(Duration.ofHours(1));
        }
        assertNotNull(admittedAt, "alice's reservation is admitted in the end");
        // Its age outweighs the better factor of any reservation younger than this; those older go first.
        Instant cut = NEXT_MONDAY.plusMillis((long) (24 * (1 - fs.standing(ALICE).factor()) * 3_600_000));
        assertTrue(before.stream().allMatch(r -> r.createdAt().isBefore(cut)), "only reservations older than " + cut + " went before it");
        assertTrue(queue.stream().noneMatch(r -> r.createdAt().isBefore(cut)), "every one of those older went first");
        assertTrue(Duration.between(NEXT_MONDAY, admittedAt).toHours() < 48, "admitted at " + admittedAt);
    }

    @Test
    void anEstimateIsFirmOnceNoNewcomerCanGoAheadOfIt() {
        var fs = week();
        var hers = waiting(ALICE, 8, NEXT_MONDAY);
        double lead = 24 * (1 - fs.standing(ALICE).factor()); // hours a newcomer with factor 1 is ahead of her
        assertEquals(NEXT_MONDAY.toEpochMilli() + lead * 3_600_000, fs.overtakableUntil(hers).toEpochMilli(), 1);
        var carols = waiting(CAROL, 8, NEXT_MONDAY);
        assertEquals(NEXT_MONDAY, fs.overtakableUntil(carols), "factor 1: only older ones are ahead of it");
        var newcomer = waiting(CAROL, 8, fs.overtakableUntil(hers).minusSeconds(1));
        assertTrue(fs.key(newcomer) > fs.key(hers), "a second before: one still goes ahead");
        var late = waiting(CAROL, 8, fs.overtakableUntil(hers).plusSeconds(1));
        assertTrue(fs.key(late) < fs.key(hers), "a second after: none does");
    }

    @Test
    void theSortAndThePairwiseOrderAgree() {
        var fs = week();
        List<Reservation> mixed = new ArrayList<>();
        java.util.Random rnd = new java.util.Random(3);
        for (int i = 0; i < 300; i++) {
            long user = 1 + rnd.nextInt(3);
            Reservation r = waiting(user, 1 + rnd.nextInt(8), NEXT_MONDAY.minusSeconds(rnd.nextInt(200_000)));
            PriorityClass p = List.of(PriorityClass.HIGH, PriorityClass.NORMAL, PriorityClass.PREEMPTIBLE).get(rnd.nextInt(3));
            Instant at = rnd.nextInt(10) == 0 ? NEXT_MONDAY.plusSeconds(rnd.nextInt(50_000)) : null;
            mixed.add(new Reservation(r.id(), r.userId(), r.username(), r.status(), r.gpuType(), r.gpuCount(), r.durationHours(), null,
                    r.createdAt(), null, null, null, null, null, null, null, new Reservation.Lifecycle(List.of(), null, null, false, null, false,
                    Reservation.Options.NONE.withPriority(p).withStartAt(at)), List.of()));
        }
        List<Reservation> byComparator = new ArrayList<>(mixed);
        byComparator.sort(fs.order());
        assertEquals(byComparator, fs.sorted(mixed));
    }
}
