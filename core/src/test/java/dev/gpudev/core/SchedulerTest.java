package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SchedulerTest {
    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    final Scheduler scheduler = new Scheduler();

    static Reservation queued(String type, int gpus, int secondsAfterT0) {
        return new Reservation(UUID.randomUUID(), 1, "u", ReservationStatus.QUEUED, type, gpus, BigDecimal.ONE, null,
                T0.plusSeconds(secondsAfterT0), null, null, null, null, null, null, null, null, List.of());
    }

    static Reservation active(String node, List<Integer> gpus) {
        return new Reservation(UUID.randomUUID(), 1, "u", ReservationStatus.ACTIVE, "h100", gpus.size(), BigDecimal.ONE, null,
                T0, T0, T0.plusSeconds(3600), Reservation.Placement.of(node, gpus.size()), null, null, null, null, null, List.of());
    }

    static Capacity nodes(int n, int gpus) {
        List<Capacity.Node> list = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new Capacity.Node("n" + i, "h100", java.util.stream.IntStream.range(0, gpus).boxed().toList(), true));
        }
        return new Capacity(list);
    }

    @Test
    void admitsWhatFitsOnANodeWithRoomAndLeavesTheDevicesToTheBackend() {
        var busy = active("n0", List.of(0, 1));
        var r = queued("h100", 2, 1);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(busy)), List.of(r), T0);
        assertEquals(1, plan.admissions().size());
        var slice = plan.admissions().getFirst().placement().slices().getFirst();
        assertEquals("n0", slice.node());
        assertEquals(2, slice.gpuCount());
        assertTrue(slice.devices().isEmpty(), "which GPUs of the node is the backend's business");
    }

    static Reservation distributed(Reservation r) {
        return withOptions(r, Reservation.Options.NONE.withDistributed(true));
    }

    @Test
    void plansFreeGpusWhenTheyAreReallyFreedAfterTheGracePeriod() {
        var graceful = new Scheduler(Scheduler.Limits.none(), java.time.Duration.ofMinutes(1));
        var busy = active("n0", List.of(0, 1, 2, 3, 4, 5, 6, 7)); // ends T0 + 1h
        var next = queued("h100", 8, 1);
        var after = queued("h100", 8, 2);
        var plan = graceful.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(busy)), List.of(next, after), T0);
        assertEquals(T0.plusSeconds(3600 + 60), plan.waiting().get(0).estimatedStart());
        assertEquals(T0.plusSeconds(2 * 3600 + 2 * 60), plan.waiting().get(1).estimatedStart(), "each keeps its GPUs a grace minute too");
        var inGrace = graceful.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(busy)), List.of(next), T0.plusSeconds(3600 + 30));
        assertEquals(T0.plusSeconds(3600 + 60), inGrace.waiting().getFirst().estimatedStart(), "during the grace minute: not now");
    }

    @Test
    void aDistributedReservationOfOneWholeNodeIsPlacedAsAGangOfOne() {
        var one = distributed(queued("h100", 8, 1));
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(2, 8), List.of()), List.of(one), T0);
        assertEquals(1, plan.admissions().getFirst().placement().slices().size());
        assertEquals(8, plan.admissions().getFirst().placement().slices().getFirst().gpuCount());
    }

    @Test
    void moreThanANodeWithoutDistributedNeverFitsAndSaysSo() {
        var tooBig = queued("h100", 16, 1);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(2, 8), List.of()), List.of(tooBig), T0);
        assertTrue(plan.admissions().isEmpty());
        assertEquals(Scheduler.PendingReason.NO_CAPACITY_OF_TYPE, plan.waiting().getFirst().reason());
    }

    static Reservation queued(String type, int gpus, int secondsAfterT0, String hours, long user) {
        return new Reservation(UUID.randomUUID(), user, "u" + user, ReservationStatus.QUEUED, type, gpus, new BigDecimal(hours), null,
                T0.plusSeconds(secondsAfterT0), null, null, null, null, null, null, null, null, List.of());
    }

    @Test
    void anOlderRequestThatDoesNotFitIsPlannedWhenItsGpusFreeUp() {
        var busy = active("n0", List.of(0)); // ends at T0 + 1h
        var big = queued("h100", 8, 1);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(busy)), List.of(big), T0);
        assertTrue(plan.admissions().isEmpty());
        assertEquals(1, plan.waiting().getFirst().position());
        assertEquals(T0.plusSeconds(3600), plan.waiting().getFirst().estimatedStart());
        assertEquals(Scheduler.PendingReason.WAITING_FOR_CAPACITY, plan.waiting().getFirst().reason());
    }

    @Test
    void aYoungerSmallRequestBackfillsOnlyWhenItDelaysNobody() {
        var busy = active("n0", List.of(0)); // ends at T0 + 1h
        var big = queued("h100", 8, 1);
        var fitsTheGap = queued("h100", 1, 2, "1", 2);
        var tooLong = queued("h100", 1, 3, "2", 3);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(busy)), List.of(tooLong, big, fitsTheGap), T0);
        assertEquals(List.of(fitsTheGap.id()), plan.admissions().stream().map(Scheduler.Admission::reservationId).toList());
        assertEquals(List.of(big.id(), tooLong.id()), plan.waiting().stream().map(Scheduler.Waiting::reservationId).toList());
        assertEquals(T0.plusSeconds(3600), plan.waiting().get(0).estimatedStart(), "the big one still starts when the GPU frees");
        assertEquals(T0.plusSeconds(3600 * 2), plan.waiting().get(1).estimatedStart(), "the long one goes after the big one");
        assertEquals(List.of(1, 2), plan.waiting().stream().map(Scheduler.Waiting::position).toList());
    }

    @Test
    void etasFollowTheActiveReservationsEndTimes() {
        var a = active("n0", List.of(0, 1, 2, 3)); // all end at T0 + 1h
        var b = active("n0", List.of(4, 5, 6, 7));
        var q1 = queued("h100", 8, 1, "2", 1);
        var q2 = queued("h100", 4, 2, "1", 2);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(a, b)), List.of(q1, q2), T0);
        assertEquals(T0.plusSeconds(3600), plan.waiting().get(0).estimatedStart());
        assertEquals(T0.plusSeconds(3 * 3600), plan.waiting().get(1).estimatedStart());
    }

    @Test
    void aUserAtTheirLimitWaitsForTheirOwnReservationsAndBlocksNobody() {
        var limited = new Scheduler(new Scheduler.Limits(4, java.util.Map.of()));
        var mine = new Reservation(UUID.randomUUID(), 7, "u7", ReservationStatus.ACTIVE, "h100", 4, BigDecimal.ONE, null,
                T0, T0, T0.plusSeconds(1800), Reservation.Placement.of("n0", 4), null, null, null, null, null, List.of());
        var mineNext = queued("h100", 2, 1, "1", 7);
        var other = queued("h100", 2, 2, "1", 8);
        var plan = limited.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(mine)), List.of(mineNext, other), T0);
        assertEquals(List.of(other.id()), plan.admissions().stream().map(Scheduler.Admission::reservationId).toList());
        assertEquals(Scheduler.PendingReason.USER_GPU_LIMIT, plan.waiting().getFirst().reason());
        assertEquals(T0.plusSeconds(1800), plan.waiting().getFirst().estimatedStart());
    }

    @Test
    void perTypeLimitsApplyToTheirTypeOnly() {
        var limited = new Scheduler(new Scheduler.Limits(0, java.util.Map.of("h100", 2)));
        var first = queued("h100", 2, 1, "1", 7);
        var second = queued("h100", 1, 2, "1", 7);
        var plan = limited.plan(new Scheduler.Snapshot(nodes(1, 8), List.of()), List.of(first, second), T0);
        assertEquals(List.of(first.id()), plan.admissions().stream().map(Scheduler.Admission::reservationId).toList());
        assertEquals(T0.plusSeconds(3600), plan.waiting().getFirst().estimatedStart());
    }

    @Test
    void distributedReservationsTakeWholeNodesAllAtOnce() {
        var busy = active("n1", List.of(0)); // n1 frees at T0 + 1h
        var gang = distributed(queued("h100", 16, 1));
        var small = queued("h100", 1, 2, "0.5", 5);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(3, 8), List.of(busy)), List.of(gang, small), T0);
        var admitted = plan.admissions().stream().filter(a -> a.reservationId().equals(gang.id())).findFirst().orElseThrow();
        assertEquals(2, admitted.placement().slices().size());
        assertTrue(admitted.placement().slices().stream().allMatch(sl -> sl.gpuCount() == 8));
        assertTrue(admitted.placement().slices().stream().noneMatch(sl -> sl.node().equals("n1")), "n1 is not whole");
        assertEquals("n1", plan.admissions().stream().filter(a -> a.reservationId().equals(small.id())).findFirst().orElseThrow()
                .placement().node());
    }

    @Test
    void aGangWaitsUntilEnoughNodesAreFreeTogether() {
        var a = active("n0", List.of(0)); // ends T0 + 1h
        var b = new Reservation(UUID.randomUUID(), 1, "u", ReservationStatus.ACTIVE, "h100", 1, BigDecimal.ONE, null,
                T0, T0, T0.plusSeconds(7200), Reservation.Placement.of("n1", 1), null, null, null, null, null, List.of());
        var gang = distributed(queued("h100", 16, 1));
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(2, 8), List.of(a, b)), List.of(gang), T0);
        assertTrue(plan.admissions().isEmpty());
        assertEquals(T0.plusSeconds(7200), plan.waiting().getFirst().estimatedStart(), "both nodes are whole only at 2h");
    }

    static Reservation withOptions(Reservation r, Reservation.Options o) {
        return new Reservation(r.id(), r.userId(), r.username(), r.status(), r.gpuType(), r.gpuCount(), r.durationHours(), r.name(),
                r.createdAt(), r.launchedAt(), r.expiresAt(), r.placement(), r.connection(), r.failureReason(), r.detailedStatus(),
                r.queue(), new Reservation.Lifecycle(List.of(), null, null, false, null, false, o), r.history());
    }

    @Test
    void aNamedDiskIsTheHomeOfOneReservationAtATime() {
        var disk = new Reservation.Options("data", false, null, java.util.Map.of());
        var holder = withOptions(active("n0", List.of(0)), disk); // user 1, ends T0 + 1h
        var sameDisk = withOptions(queued("h100", 1, 1, "1", 1), disk);
        var otherDisk = withOptions(queued("h100", 1, 2, "1", 1), new Reservation.Options("scratchpad", false, null, java.util.Map.of()));
        var otherUserSameName = withOptions(queued("h100", 1, 3, "1", 2), disk);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(holder)), List.of(sameDisk, otherDisk, otherUserSameName), T0);
        assertEquals(java.util.Set.of(otherDisk.id(), otherUserSameName.id()),
                plan.admissions().stream().map(Scheduler.Admission::reservationId).collect(java.util.stream.Collectors.toSet()));
        assertEquals(Scheduler.PendingReason.WAITING_FOR_DISK, plan.waiting().getFirst().reason());
        assertEquals(T0.plusSeconds(3600), plan.waiting().getFirst().estimatedStart());
    }

    @Test
    void nodeLabelsNarrowThePlacement() {
        var capacity = new Capacity(List.of(
                new Capacity.Node("plain", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true),
                new Capacity.Node("fast", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true, java.util.Map.of("network", "efa"))));
        var wantsEfa = withOptions(queued("h100", 2, 1), new Reservation.Options(null, false, null, java.util.Map.of("network", "efa")));
        var wantsNothing = queued("h100", 1, 2);
        var wantsMissing = withOptions(queued("h100", 1, 3), new Reservation.Options(null, false, null, java.util.Map.of("zone", "mars")));
        var plan = scheduler.plan(new Scheduler.Snapshot(capacity, List.of()), List.of(wantsEfa, wantsNothing, wantsMissing), T0);
        assertEquals("fast", plan.admissions().stream().filter(a -> a.reservationId().equals(wantsEfa.id())).findFirst().orElseThrow()
                .placement().node());
        assertEquals(Scheduler.PendingReason.NO_CAPACITY_OF_TYPE, plan.waiting().getFirst().reason());
    }

    @Test
    void appendingNewArrivalsGivesTheSamePlanAsPlanningEverything() {
        var rnd = new java.util.Random(11);
        List<Reservation> holding = new java.util.ArrayList<>();
        for (int n = 0; n < 4; n++) {
            holding.add(new Reservation(UUID.randomUUID(), n, "u", ReservationStatus.ACTIVE, "h100", 4, BigDecimal.ONE, null, T0, T0,
                    T0.plusSeconds(600 + rnd.nextInt(7200)), Reservation.Placement.of("n", 4), null, null, null, null, null, List.of()));
        }
        List<Reservation> queue = new java.util.ArrayList<>();
        String[] hours = {"0.5", "1", "2", "4"};
        for (int i = 0; i < 60; i++) {
            queue.add(queued("h100", 1 << rnd.nextInt(4), i, hours[rnd.nextInt(hours.length)], rnd.nextInt(10)));
        }
        var limited = new Scheduler(new Scheduler.Limits(8, java.util.Map.of()));
        var snapshot = new Scheduler.Snapshot(nodes(4, 8), holding);
        var whole = limited.plan(snapshot, queue, T0);
        var planner = limited.start(snapshot, queue.subList(0, 40), T0);
        var later = planner.append(queue.subList(40, 60));
        var admitted = new java.util.ArrayList<>(planner.plan().admissions());
        admitted.addAll(later.admissions());
        var waiting = new java.util.ArrayList<>(planner.plan().waiting());
        waiting.addAll(later.waiting());
        assertEquals(whole.admissions(), admitted);
        assertEquals(whole.waiting(), waiting);
        assertEquals(whole.waiting().stream().map(Scheduler.Waiting::estimatedStart).filter(java.util.Objects::nonNull)
                .min(Instant::compareTo).orElseThrow(), planner.validUntil(), "the plan holds until the first waiting one is due");
    }

    @Test
    void bestFitKeepsWholeNodesForWholeNodeRequests() {
        var busy = active("n1", List.of(0));
        var one = queued("h100", 1, 1);
        var eight = queued("h100", 8, 2);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(2, 8), List.of(busy)), List.of(one, eight), T0);
        assertEquals("n1", plan.admissions().get(0).placement().node(), "the single GPU goes to the node already in use");
        assertEquals("n0", plan.admissions().get(1).placement().node());
    }

    @Test
    void neverPlacesMoreOnANodeThanItHasAndFillsTheCluster() {
        List<Reservation> many = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            many.add(queued("h100", 1 << (i % 3), i));
        }
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(3, 8), List.of()), many, T0);
        var perNode = new java.util.HashMap<String, Integer>();
        for (var a : plan.admissions()) {
            perNode.merge(a.placement().node(), a.placement().slices().getFirst().gpuCount(), Integer::sum);
        }
        perNode.values().forEach(n -> assertTrue(n <= 8, "a node holds " + n + " GPUs: " + perNode));
        assertEquals(24, perNode.values().stream().mapToInt(Integer::intValue).sum(), "the 20 requests (28 GPUs) fill all 24: " + perNode);
    }

    @Test
    void aTypeWithoutNodesSaysSo() {
        var r = queued("a100", 1, 0);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(1, 8), List.of()), List.of(r), T0);
        assertEquals(Scheduler.PendingReason.NO_CAPACITY_OF_TYPE, plan.waiting().getFirst().reason());
    }
}
