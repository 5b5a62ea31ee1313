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
                T0, T0, T0.plusSeconds(3600), new Reservation.Placement(node, gpus), null, null, null, null, null, List.of());
    }

    static Capacity nodes(int n, int gpus) {
        List<Capacity.Node> list = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new Capacity.Node("n" + i, "h100", java.util.stream.IntStream.range(0, gpus).boxed().toList(), true));
        }
        return new Capacity(list);
    }

    @Test
    void admitsWhatFitsOnTheLowestFreeGpus() {
        var busy = active("n0", List.of(0, 1));
        var r = queued("h100", 2, 1);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(busy)), List.of(r), T0);
        assertEquals(1, plan.admissions().size());
        assertEquals(List.of(2, 3), plan.admissions().getFirst().placement().gpus());
    }

    @Test
    void anOlderRequestThatDoesNotFitBlocksYoungerOnesOfItsType() {
        var big = queued("h100", 8, 1);
        var small = queued("h100", 1, 2);
        var busy = active("n0", List.of(0));
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(1, 8), List.of(busy)), List.of(small, big), T0);
        assertTrue(plan.admissions().isEmpty());
        assertEquals(List.of(big.id(), small.id()), plan.waiting().stream().map(Scheduler.Waiting::reservationId).toList());
        assertEquals(List.of(1, 2), plan.waiting().stream().map(Scheduler.Waiting::position).toList());
    }

    @Test
    void neverPlacesTwoReservationsOnOneGpu() {
        List<Reservation> many = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            many.add(queued("h100", 1 << (i % 3), i));
        }
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(3, 8), List.of()), many, T0);
        var used = new java.util.HashSet<String>();
        for (var a : plan.admissions()) {
            for (int g : a.placement().gpus()) {
                assertTrue(used.add(a.placement().node() + ":" + g), "GPU placed twice");
            }
        }
        assertEquals(24, used.size());
    }

    @Test
    void aTypeWithoutNodesSaysSo() {
        var r = queued("a100", 1, 0);
        var plan = scheduler.plan(new Scheduler.Snapshot(nodes(1, 8), List.of()), List.of(r), T0);
        assertEquals(Scheduler.PendingReason.NO_CAPACITY_OF_TYPE, plan.waiting().getFirst().reason());
    }
}
