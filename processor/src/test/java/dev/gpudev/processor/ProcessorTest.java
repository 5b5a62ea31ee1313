package dev.gpudev.processor;

import dev.gpudev.backend.spi.BackendException;
import dev.gpudev.backend.spi.EnvironmentSpec;
import dev.gpudev.core.Command;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.StatusChange;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The processor step by step on an injected clock: commands, scheduling, and convergence of the backend. */
class ProcessorTest extends ProcessorFixture {

    @Test
    void aSubmittedReservationBecomesActiveOnTheChosenNodeWithItsEndpointAndEndTime() {
        UUID id = submit(2, "1.5");
        processor().cycle();
        Reservation r = get(id);
        assertEquals(ReservationStatus.ACTIVE, r.status());
        var env = backend.env(r.environmentName());
        assertEquals("n0", env.spec.node(), "the scheduler's node reaches the backend");
        assertEquals(2, env.spec.gpuCount());
        assertEquals(new Reservation.Connection("127.0.0.1", env.port), r.connection());
        assertEquals(List.of(0, 1), r.placement().gpus(), "the devices the backend reported");
        assertEquals(r.launchedAt().plus(Duration.ofMinutes(90)), r.expiresAt(), "fractional hours kept exactly");
        assertEquals(List.of(ReservationStatus.QUEUED, ReservationStatus.PREPARING, ReservationStatus.ACTIVE),
                r.history().stream().map(StatusChange::status).toList());
        assertEquals(0, queueLength(), "command deleted once applied");
    }

    @Test
    void whatDoesNotFitWaitsInOrderAndOnlyHarmlessBackfillJumpsAhead() {
        UUID first = submit(4, "1");
        UUID big = submit(8, "1");
        UUID longSmall = submit(1, "3");
        UUID shortSmall = submit(1, "1");
        processor().cycle();
        assertEquals(ReservationStatus.ACTIVE, get(first).status());
        assertEquals(ReservationStatus.QUEUED, get(big).status());
        assertEquals(1, get(big).queuePosition());
        assertEquals("WAITING_FOR_CAPACITY", get(big).pendingReason());
        assertEquals(2, get(longSmall).queuePosition(), "a younger request that would delay the big one waits");
        assertEquals(ReservationStatus.ACTIVE, get(shortSmall).status(), "one that ends before the big one starts goes now");
        send(new Command.Cancel(first, "alice"));
        send(new Command.Cancel(shortSmall, "alice"));
        Processor p = processor();
        p.cycle();
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(first).status());
        assertEquals(ReservationStatus.ACTIVE, get(big).status());
        assertEquals(ReservationStatus.QUEUED, get(longSmall).status());
    }

    @Test
    void estimatesCountTheGraceMinuteBeforeGpusAreReallyFree() {
        UUID running = submit(8, "1");
        UUID waiting = submit(8, "1");
        Processor p = processor();
        p.cycle();
        var end = get(running).expiresAt();
        assertEquals(end.plus(Duration.ofMinutes(1)), get(waiting).estimatedStart(), "freed one grace minute after the end");
        clock.advance(Duration.ofMinutes(60).plusSeconds(20)); // inside the grace minute: still running
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(running).status());
        assertEquals(end.plus(Duration.ofMinutes(1)), get(waiting).estimatedStart(), "the estimate does not jump to now");
        clock.advance(Duration.ofSeconds(41));
        p.cycle();
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(waiting).status());
    }

    @Test
    void cancelRemovesTheEnvironmentAndCancellingTwiceIsOneCancel() {
        UUID id = submit(1, "1");
        Processor p = processor();
        p.cycle();
        String env = get(id).environmentName();
        send(new Command.Cancel(id, "alice"));
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status());
        assertTrue(backend.observe().isEmpty());
        assertTrue(backend.destroyed().contains(env));
        send(new Command.Cancel(id, "alice"));
        p.cycle();
        assertEquals(1, get(id).history().stream().filter(h -> h.status() == ReservationStatus.CANCELLED).count());
    }

    @Test
    void aCancelWhilePreparingEndsItBeforeItEverRuns() {
        backend.startingFor = 3; // a slow start (an image pull): deterministic, not a race
        UUID id = submit(1, "1");
        Processor p = processor();
        p.cycle();
        assertEquals(ReservationStatus.PREPARING, get(id).status());
        assertEquals("starting (in memory)", get(id).detailedStatus(), "what it waits for is shown");
        send(new Command.Cancel(id, "alice"));
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(id).status());
        assertTrue(backend.observe().isEmpty(), "its half-made environment is removed");
        assertTrue(get(id).history().stream().noneMatch(h -> h.status() == ReservationStatus.ACTIVE));
    }

    @Test
    void redeliveredCommandsAndRepeatedCyclesNeverDuplicateAnEnvironment() {
        UUID id = submit(1, "1");
        Processor p = processor();
        for (int i = 0; i < 3; i++) {
            p.cycle();
            send(new Command.Create(id, "alice"));
        }
        p.cycle();
        assertEquals(Set.of(Reservation.environmentName(id)), backend.observe().keySet());
        assertEquals(1, backend.env(Reservation.environmentName(id)).ensures, "ensured once: nothing changed since");
        assertEquals(1, get(id).history().stream().filter(h -> h.status() == ReservationStatus.ACTIVE).count());
    }

    @Test
    void anEnvironmentDeletedBehindOurBackIsMadeAgainAndItsEndpointRewrittenWhole() {
        UUID id = submit(1, "1");
        Processor p = processor();
        p.cycle();
        var before = get(id).connection();
        backend.vanish(get(id).environmentName());
        p.cycle();
        p.cycle();
        Reservation r = get(id);
        assertEquals(ReservationStatus.ACTIVE, r.status());
        int port = backend.env(r.environmentName()).port;
        assertNotEquals(before.port(), port);
        assertEquals(new Reservation.Connection("127.0.0.1", port), r.connection(), "host and port together");
        assertEquals(port, r.placement().slices().getFirst().sshPort());
    }

    @Test
    void aPermanentFailureFailsTheReservationWithTheBackendsReason() {
        UUID id = submit(1, "1");
        backend.startingFor = 5;
        Processor p = processor();
        p.cycle();
        backend.fail(get(id).environmentName(), "the image registry.example/nope:1 does not exist", false);
        p.cycle();
        Reservation r = get(id);
        assertEquals(ReservationStatus.FAILED, r.status());
        assertTrue(r.failureReason().contains("does not exist"), r.failureReason());
        p.cycle();
        assertTrue(backend.observe().isEmpty(), "and its environment goes");
    }

    @Test
    void aTransientFailureIsMadeAgainNotFailed() {
        UUID id = submit(1, "1");
        backend.startingFor = 5;
        Processor p = processor();
        p.cycle();
        backend.fail(get(id).environmentName(), "node pressure", true);
        p.cycle();
        assertEquals(ReservationStatus.PREPARING, get(id).status());
        backend.startingFor = 0;
        p.cycle();
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
    }

    @Test
    void aBackendThatRefusesForGoodFailsTheReservationAndOneThatStumblesIsAskedAgain() {
        backend.ensureFails = new BackendException("API server unreachable", true);
        UUID id = submit(1, "1");
        Processor p = processor();
        p.cycle();
        assertEquals(ReservationStatus.PREPARING, get(id).status(), "transient: tried again next cycle");
        backend.ensureFails = null;
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
        backend.ensureFails = new BackendException("no such storage class", false);
        UUID other = submit(1, "1");
        p.cycle();
        assertEquals(ReservationStatus.FAILED, get(other).status());
        assertTrue(get(other).failureReason().contains("no such storage class"));
    }

    @Test
    void expiredReservationsEndAfterTheGraceMinuteAndTheirEnvironmentsGo() {
        UUID id = submit(1, "0.1");
        Processor p = processor();
        p.cycle();
        clock.advance(Duration.ofMinutes(6).plusSeconds(1));
        p.cycle();
        assertEquals(ReservationStatus.ACTIVE, get(id).status(), "within the grace period");
        clock.advance(Duration.ofMinutes(1));
        p.cycle();
        assertEquals(ReservationStatus.EXPIRED, get(id).status());
        assertTrue(backend.observe().isEmpty());
    }

    @Test
    void twoReplicasAtOnceNeverPlaceTwiceNorLoseAReservation() throws Exception {
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            ids.add(submit(1 + (i % 2), "1"));
        }
        Processor a = processor();
        Processor b = processor();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            for (int round = 0; round < 5; round++) {
                var fa = pool.submit(a::cycle);
                var fb = pool.submit(b::cycle);
                fa.get();
                fb.get();
                for (UUID id : ids) {
                    if (get(id).status() == ReservationStatus.ACTIVE && id.hashCode() % 3 == round % 3) {
                        send(new Command.Cancel(id, "alice"));
                    }
                }
            }
        }
        var placed = ids.stream().map(this::get).filter(r -> r.status().holdsGpus()).toList();
        assertTrue(placed.stream().mapToInt(Reservation::gpuCount).sum() <= 8, "never more GPUs placed than the node has");
        a.cycle(); // level-triggered: whatever one replica made while the other ended it is removed by the next pass
        var live = ids.stream().map(this::get).filter(r -> r.status().holdsGpus()).toList();
        assertTrue(live.stream().mapToInt(Reservation::gpuCount).sum() <= 8, "never more GPUs placed than the node has");
        assertEquals(live.stream().map(Reservation::environmentName).collect(Collectors.toSet()), backend.observe().keySet(),
                "one environment per live reservation, no more");
        assertTrue(ids.stream().map(this::get).allMatch(r -> r.status() != ReservationStatus.FAILED), "nothing failed");
    }

    @Test
    void orphanEnvironmentsAreRemoved() throws Exception {
        backend.ensure(new EnvironmentSpec(UUID.randomUUID(), "gpudev-orphan", 0, new EnvironmentSpec.Owner(9, "nobody"), "n0", 1,
                List.of(), null, new EnvironmentSpec.Home.Own(), null, null));
        processor().cycle();
        assertTrue(backend.observe().isEmpty());
    }

    @Test
    void aCommandThatKeepsFailingIsDeadLetteredAndItsReservationFails() {
        UUID id = submit(1, "1");
        db.inTransaction(c -> pgmq.send(c, commands.queue(), "{\"type\":\"explode\",\"reservation_id\":\"" + id + "\"}", 0));
        Processor p = processor(ProcessorSettings.defaults().withLease(Duration.ZERO));
        for (int i = 0; i < 4; i++) {
            p.cycle();
        }
        assertEquals(0, queueLength());
        assertEquals(1, archived(), "kept in the archive");
        assertEquals(ReservationStatus.FAILED, get(id).status());
        assertTrue(get(id).failureReason().contains("internal error"), get(id).failureReason());
    }

    private long archived() {
        return db.query(c -> {
            try (var rs = c.createStatement().executeQuery("select count(*) from pgmq.a_" + commands.queue())) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    @Test
    void aDistributedReservationOfOneWholeNodeGetsTheRendezvousVariables() {
        UUID id = submit(alice, 8, "1", Reservation.Options.NONE.withDistributed(true));
        processor().cycle();
        var env = dev.gpudev.backend.spi.InMemoryBackend.variables(backend.env(get(id).environmentName()).spec);
        assertEquals("0", env.get("NODE_RANK"));
        assertEquals("1", env.get("WORLD_SIZE"));
        assertEquals("8", env.get("GPUS_PER_NODE"));
        assertEquals(get(id).environmentName() + ".in-memory", env.get("MASTER_ADDR"), "the backend names the rendezvous");
        UUID plain = submit(alice, 1, "1", Reservation.Options.NONE);
        send(new Command.Cancel(id, "alice"));
        processor().cycle();
        processor().cycle();
        assertNull(backend.env(get(plain).environmentName()).spec.gang(), "not distributed: no gang");
    }

    /** Every waiting reservation's queue entry, by id. */
    Map<UUID, Reservation.Queue> queue() {
        Map<UUID, Reservation.Queue> out = new HashMap<>();
        db.query(c -> reservations.withStatus(c, ReservationStatus.QUEUED)).forEach(r -> out.put(r.id(), r.queue()));
        return out;
    }

    @Test
    void newArrivalsArePlannedOnTheKeptPlanExactlyAsAFullPlanWould() {
        Processor p = processor();
        submit(6, "2");
        submit(2, "1");
        p.cycle();
        p.cycle();
        List<UUID> waiting = new ArrayList<>();
        String[][] first = {{"4", "1"}, {"8", "2"}, {"1", "3"}, {"2", "0.5"}};
        for (String[] f : first) {
            waiting.add(submit(Integer.parseInt(f[0]), f[1]));
        }
        p.cycle();
        long fullBefore = p.planCounts()[0];
        long incrementalBefore = p.planCounts()[1];
        String[][] later = {{"1", "1"}, {"8", "1"}, {"4", "2"}, {"1", "0.25"}, {"2", "4"}};
        for (String[] l : later) {
            waiting.add(submit(Integer.parseInt(l[0]), l[1]));
        }
        p.cycle();
        assertEquals(fullBefore, p.planCounts()[0], "only new arrivals: the kept plan is extended");
        assertEquals(incrementalBefore + 1, p.planCounts()[1]);
        var incremental = queue();
        assertEquals(Set.copyOf(waiting), incremental.keySet(), "the GPUs are taken: all nine wait");
        incremental.values().forEach(q -> assertNotNull(q.position(), "every arrival was given its place"));

        Processor fresh = processor();
        fresh.cycle();
        assertEquals(List.of(1L, 0L, 0L), Arrays.stream(fresh.planCounts()).boxed().toList());
        assertEquals(incremental, queue(), "positions, reasons and start estimates as a full plan of all of them gives");
    }

    @Test
    void planningAgainAsTimePassesReadsOnlyArrivalsAndEveryProcessorAgreesOnTheOrder() {
        Processor p = processor();
        submit(8, "1");
        p.cycle();
        for (int i = 0; i < 5; i++) {
            submit(8, "1");
        }
        p.cycle();
        // One made a moment before the last two of those, whose command the processor sees only now (commits race):
        // it goes where its age puts it, and only the places behind it move.
        clock.advance(Duration.ofNanos(-2_500_000)); // between the third and the fourth (ties would go by id)
        UUID late = submit(8, "1");
        clock.advance(Duration.ofNanos(2_500_000));
        long[] beforeLate = p.planCounts();
        p.cycle();
        assertEquals(4, get(late).queuePosition(), "planned where its age puts it");
        assertEquals(beforeLate[0], p.planCounts()[0], "from memory: the queue is not read again");
        var before = queue();
        long[] counts = p.planCounts();
        clock.advance(PlanCache.FULL_PLAN_EVERY.plusSeconds(1));
        UUID next = submit(8, "1");
        p.cycle();
        long[] after = p.planCounts();
        assertEquals(counts[0], after[0], "nothing but time and an arrival: the queue is not read again");
        assertEquals(counts[2] + 1, after[2], "everything planned again from memory");
        var now = queue();
        now.remove(next);
        assertEquals(before, now, "planning again moves no one: every estimate stands");
        assertEquals(7, get(next).queuePosition());
        // After KeptQueue.FULL_READ_EVERY the queue is read again, in the same order.
        clock.advance(KeptQueue.FULL_READ_EVERY);
        p.cycle();
        assertEquals(after[0] + 1, p.planCounts()[0]);
        assertEquals(4, get(late).queuePosition(), "a re-read gives the same order");
        Processor successor = processor(); // a restart, or another replica taking over
        successor.cycle();
        assertEquals(4, get(late).queuePosition(), "and so does a processor that did not plan it: the order is the policy's, not a processor's");
        assertEquals(7, get(next).queuePosition());
    }

    @Test
    void aCancelInTheQueueMakesTheNextCyclePlanEverythingAgain() {
        Processor p = processor();
        submit(8, "1");
        p.cycle();
        UUID a = submit(8, "1");
        UUID b = submit(8, "1");
        UUID c = submit(8, "1");
        p.cycle();
        assertEquals(3, get(c).queuePosition());
        send(new Command.Cancel(a, "alice"));
        p.cycle();
        assertEquals(ReservationStatus.CANCELLED, get(a).status());
        assertEquals(1, get(b).queuePosition(), "those behind the cancelled one move up");
        assertEquals(2, get(c).queuePosition());
        assertEquals(get(b).estimatedStart().plus(Duration.ofHours(1)).plus(Duration.ofMinutes(1)), get(c).estimatedStart());
        long full = p.planCounts()[0];
        UUID d = submit(8, "1");
        p.cycle();
        assertEquals(full, p.planCounts()[0]);
        assertEquals(3, get(d).queuePosition(), "an arrival after it is placed on the replanned queue");
    }

    @Test
    void aPlanIsNotExtendedAfterAnotherReplicaScheduled() {
        Processor one = processor();
        Processor two = processor();
        submit(8, "1");
        one.cycle();
        submit(8, "1");
        one.cycle();
        one.cycle();
        long full = one.planCounts()[0];
        two.cycle();
        UUID late = submit(8, "1");
        one.cycle();
        assertEquals(full + 1, one.planCounts()[0], "the other replica's cycle may have changed what this one kept");
        assertEquals(2, get(late).queuePosition());
    }

    @Test
    void capacityIsPublishedForTheApiAndFollowsTheBackend() {
        processor().cycle();
        var published = db.query(c -> new dev.gpudev.store.CapacityTable().read(c));
        assertEquals(new HashSet<>(backend.capacity().nodes()), new HashSet<>(published.nodes()));
    }
}
