package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Teams: their share and usage in fair share, their guaranteed GPUs, borrowing them and taking them back. */
class TeamsTest {
    static final Instant NOW = PreemptionTest.NOW;
    static final Duration NOTICE = PreemptionTest.NOTICE;
    static final Duration GRACE = PreemptionTest.GRACE;
    final Scheduler scheduler = new Scheduler(Scheduler.Limits.none(), GRACE, NOTICE);

    static Reservation holder(long user, String team, String node, int gpus, PriorityClass p, Duration ago, Duration left) {
        var h = PreemptionTest.holder(user, node, gpus, p, NOW.minus(ago), left);
        return withOptions(h, h.options().withTeam(team));
    }

    static Reservation waiting(long user, String team, int gpus, int secondsAgo) {
        var w = PreemptionTest.waiting(user, gpus, "2", PriorityClass.NORMAL, secondsAgo);
        return withOptions(w, w.options().withTeam(team));
    }

    static Reservation withOptions(Reservation r, Reservation.Options o) {
        var l = r.lifecycle();
        return new Reservation(r.id(), r.userId(), r.username(), r.status(), r.gpuType(), r.gpuCount(), r.durationHours(), r.name(),
                r.createdAt(), r.launchedAt(), r.expiresAt(), r.placement(), null, null, null, null,
                new Reservation.Lifecycle(l.warningsSent(), l.lastActiveAt(), l.idleWarnedAt(), l.idleOptOut(), l.statusChangedAt(),
                        l.jupyter(), o, l.jupyterAccess(), l.preemptedAt()), List.of());
    }

    static FairShare guaranteeing(String team, int gpus) {
        return FairShare.none(new Guarantees(Map.of(team, Map.of("h100", gpus))));
    }

    Scheduler.Plan plan(FairShare fs, List<Reservation> holding, List<Reservation> queued, int nodes) {
        return scheduler.plan(new Scheduler.Snapshot(SchedulerTest.nodes(nodes, 8), holding, fs), queued, NOW);
    }

    @Test
    void usersInNoTeamGetThePlainFormula() {
        var policy = FairShare.Policy.defaults();
        var plain = FairShare.of(policy, Map.of(1L, 30.0, 2L, 10.0), Map.of(), Set.of(3L));
        var viaTeams = FairShare.of(policy, List.of(new FairShare.Use(1, null, 30), new FairShare.Use(2, null, 10)), Map.of(), Map.of(),
                List.of(new FairShare.Charge(3, null)));
        for (long u = 1; u <= 3; u++) {
            assertEquals(plain.standing(u).factor(), viaTeams.standing(u).factor(), 1e-12);
        }
        assertEquals(Math.pow(2, -0.75 / (1.0 / 3)), plain.standing(1).factor(), 1e-12);
    }

    @Test
    void aTeamSharesThePlatformAsOneAndItsMembersCarryItsUsage() {
        // team "ml" (alice 30 h, bob 0 h, both waiting) and carol in no team (10 h): two top levels, half each
        var fs = FairShare.of(FairShare.Policy.defaults(),
                List.of(new FairShare.Use(1, "ml", 30), new FairShare.Use(3, null, 10)), Map.of(), Map.of(),
                List.of(new FairShare.Charge(2, "ml"), new FairShare.Charge(1, "ml")));
        // by hand: total 40 h. alice: share ½ × ½ = ¼; usage 30/40 = .75, team .75: effective .75 + (.75 − .75) × ½ = .75
        assertEquals(0.25, fs.standing(1, "ml").share(), 1e-12);
        assertEquals(Math.pow(2, -0.75 / 0.25), fs.standing(1, "ml").factor(), 1e-12);
        // bob used nothing but his team did: effective 0 + (.75 − 0) × ½ = .375
        assertEquals(0.375, fs.standing(2, "ml").usageShare(), 1e-12);
        assertEquals(Math.pow(2, -0.375 / 0.25), fs.standing(2, "ml").factor(), 1e-12);
        // carol: share ½, usage .25
        assertEquals(Math.pow(2, -0.25 / 0.5), fs.standing(3).factor(), 1e-12);
        assertTrue(fs.standing(3).factor() > fs.standing(2, "ml").factor(), "the team's use counts against its members");
        assertEquals(Math.pow(2, -0.75 / 0.5), fs.team("ml").factor(), 1e-12);
        // a team share of 3 gives the team three quarters of the platform
        var bigger = FairShare.of(FairShare.Policy.defaults(),
                List.of(new FairShare.Use(1, "ml", 30), new FairShare.Use(3, null, 10)), Map.of(), Map.of("ml", 3.0),
                List.of(new FairShare.Charge(2, "ml"), new FairShare.Charge(1, "ml")));
        assertEquals(0.375, bigger.standing(1, "ml").share(), 1e-12);
        assertEquals(0.75, bigger.team("ml").share(), 1e-12);
    }

    @Test
    void idleGuaranteedGpusAreBorrowedAndTakenBackFromTheYoungestBorrowerOnly() {
        // team ml is guaranteed 8 h100 (one node of two); users in no team borrow both nodes
        var oldest = holder(1, null, "n0", 4, PriorityClass.NORMAL, Duration.ofHours(5), Duration.ofHours(3));
        var middle = holder(2, null, "n0", 4, PriorityClass.NORMAL, Duration.ofHours(3), Duration.ofHours(5));
        var young = holder(3, null, "n1", 4, PriorityClass.NORMAL, Duration.ofHours(1), Duration.ofHours(7));
        var youngest = holder(4, null, "n1", 2, PriorityClass.NORMAL, Duration.ofMinutes(30), Duration.ofHours(7));
        var plan = plan(guaranteeing("ml", 8), List.of(oldest, middle, young, youngest), List.of(waiting(9, "ml", 4, 10)), 2);
        assertEquals(1, plan.preemptions().size(), "one victim frees the 4 GPUs asked (n1 had 2 free)");
        assertEquals(youngest.id(), plan.preemptions().getFirst().reservationId(), "the youngest borrower on the node that needs fewest");
        assertEquals(NOW.plus(NOTICE), plan.preemptions().getFirst().endsAt());
        assertEquals("another team takes back its guaranteed h100 GPUs", plan.preemptions().getFirst().reason(), "no team's name to others");
        assertEquals(NOW.plus(NOTICE).plus(GRACE), plan.waiting().getFirst().estimatedStart(), "it starts as soon as the victim is gone");

        // a reservation of no team, or of a team beyond its guarantee, takes nothing back
        assertTrue(plan(guaranteeing("ml", 8), List.of(oldest, middle, young, youngest), List.of(waiting(9, null, 4, 10)), 2)
                .preemptions().isEmpty());
        var mlHolds = holder(8, "ml", "n1", 6, PriorityClass.NORMAL, Duration.ofHours(1), Duration.ofHours(7));
        assertTrue(plan(guaranteeing("ml", 8), List.of(oldest, middle, mlHolds), List.of(waiting(9, "ml", 4, 10)), 2)
                .preemptions().isEmpty(), "6 held + 4 asked is beyond the 8 guaranteed: it waits as others do");
    }

    @Test
    void aGroupWithinItsOwnGuaranteeIsNeverAVictimAndPreemptibleOnesGoFirst() {
        var guarantees = FairShare.none(new Guarantees(Map.of("ml", Map.of("h100", 8), "cv", Map.of("h100", 8))));
        var cv = holder(1, "cv", "n0", 8, PriorityClass.NORMAL, Duration.ofMinutes(1), Duration.ofHours(7)); // within its 8
        var borrowerNormal = holder(2, null, "n1", 4, PriorityClass.NORMAL, Duration.ofHours(2), Duration.ofHours(5));
        var borrowerCheap = holder(3, null, "n1", 4, PriorityClass.PREEMPTIBLE, Duration.ofHours(3), Duration.ofHours(5));
        var plan = plan(guarantees, List.of(cv, borrowerNormal, borrowerCheap), List.of(waiting(9, "ml", 4, 10)), 2);
        assertEquals(List.of(borrowerCheap.id()), plan.preemptions().stream().map(Scheduler.Preemption::reservationId).toList(),
                "the preemptible borrower, though older; cv keeps its guaranteed node");
        var whole = plan(guarantees, List.of(cv, borrowerNormal, borrowerCheap), List.of(waiting(9, "ml", 8, 10)), 2);
        assertEquals(Set.of(borrowerCheap.id(), borrowerNormal.id()),
                Set.copyOf(whole.preemptions().stream().map(Scheduler.Preemption::reservationId).toList()));
    }

    @Test
    void claimersGoAheadOfOlderReservationsButNotBeyondTheirGuarantee() {
        var older = waiting(1, null, 8, 3600);
        var claimer = waiting(2, "ml", 8, 60);
        var beyond = waiting(3, "ml", 8, 30); // the team's second 8: beyond its guarantee
        var holderAll = holder(4, null, "n0", 8, PriorityClass.NORMAL, Duration.ofHours(1), Duration.ofHours(1));
        var plan = plan(guaranteeing("ml", 8), List.of(holderAll), List.of(older, claimer, beyond), 1);
        Map<UUID, Integer> positions = new java.util.HashMap<>();
        plan.waiting().forEach(w -> positions.put(w.reservationId(), w.position()));
        assertEquals(1, positions.get(claimer.id()));
        assertEquals(2, positions.get(older.id()));
        assertEquals(3, positions.get(beyond.id()));
        assertEquals(List.of(holderAll.id()), plan.preemptions().stream().map(Scheduler.Preemption::reservationId).toList());
        // without guarantees: first come, first served
        var plain = scheduler.plan(new Scheduler.Snapshot(SchedulerTest.nodes(1, 8), List.of(holderAll)), List.of(older, claimer, beyond), NOW);
        assertEquals(older.id(), plain.waiting().stream().filter(w -> w.position() == 1).findFirst().orElseThrow().reservationId());
        assertTrue(plain.preemptions().isEmpty());
    }

    @Test
    void aVictimAlreadyToldIsNotPreemptedAgain() {
        var borrower = holder(1, null, "n0", 8, PriorityClass.NORMAL, Duration.ofHours(1), NOTICE.minusMinutes(2)); // ends within the notice
        var plan = plan(guaranteeing("ml", 8), List.of(borrower), List.of(waiting(9, "ml", 8, 10)), 1);
        assertTrue(plan.preemptions().isEmpty());
        assertEquals(NOW.plus(NOTICE).minusSeconds(120).plus(GRACE), plan.waiting().getFirst().estimatedStart());
    }


    @Test
    void aBorrowerIsNeverTakenBelowItsOwnGuarantee() {
        // team cv is guaranteed 8 and holds 10 (borrows 2) as an 8 and a 2 on the node ml needs
        var guarantees = FairShare.none(new Guarantees(Map.of("ml", Map.of("h100", 8), "cv", Map.of("h100", 8))));
        var big = holder(1, "cv", "n0", 8, PriorityClass.NORMAL, Duration.ofMinutes(5), Duration.ofHours(7));
        var small = holder(2, "cv", "n1", 2, PriorityClass.NORMAL, Duration.ofHours(5), Duration.ofHours(7));
        var other = holder(3, null, "n1", 6, PriorityClass.NORMAL, Duration.ofHours(6), Duration.ofHours(7));
        var plan = plan(guarantees, List.of(big, small, other), List.of(waiting(9, "ml", 2, 10)), 2);
        assertEquals(List.of(small.id()), plan.preemptions().stream().map(Scheduler.Preemption::reservationId).toList(),
                "the 2 cv borrows, not its young 8 within its guarantee (though younger)");
    }
}
