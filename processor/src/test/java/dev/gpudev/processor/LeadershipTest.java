package dev.gpudev.processor;

import dev.gpudev.backend.spi.InMemoryBackend;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.store.CapacityTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Processors driving a backend only one may drive per database (each its own machine's sandboxes) on
 * one database: one runs, the others stand by; nothing is started twice, no endpoint flips, nobody's
 * reservation is failed by another; when the one that runs dies, another takes over.
 */
class LeadershipTest extends ProcessorFixture {
    private final List<Processor> processors = new ArrayList<>();

    @AfterEach
    void stopAll() {
        processors.forEach(Processor::close);
    }

    private InMemoryBackend machine(String node) {
        var b = new InMemoryBackend(new Capacity(List.of(new Capacity.Node(node, "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true))));
        b.exclusiveLease = "local-backend";
        return b;
    }

    private Processor start(InMemoryBackend machine) {
        var settings = ProcessorSettings.defaults().withPollInterval(Duration.ofMillis(100)).withLeadership(Duration.ofMillis(900));
        var parts = new Parts(db, pgmq, commands, reservations, new dev.gpudev.store.ReservationUsers(), new dev.gpudev.store.SshKeys(),
                new dev.gpudev.store.Users(), new dev.gpudev.store.Disks(), new dev.gpudev.store.SchedulerState(), new CapacityTable(),
                new dev.gpudev.store.ProxySessions(), new dev.gpudev.store.UsageSamples(), new dev.gpudev.store.Leases(), machine, clock);
        Processor p = new Processor(parts, settings);
        p.start();
        processors.add(p);
        return p;
    }

    private static void await(String what, Duration within, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " did not happen within " + within.toMillis() + " ms");
            }
            Thread.sleep(20);
        }
    }

    private Map<UUID, Reservation.Connection> endpoints(List<UUID> ids) {
        Map<UUID, Reservation.Connection> out = new HashMap<>();
        ids.forEach(id -> out.put(id, get(id).connection()));
        return out;
    }

    @Test
    void threeProcessorsOfDifferentMachinesOnOneDatabaseOneRunsAndNoneUndoesAnothersWork() throws Exception {
        InMemoryBackend first = machine("sim-h100-1");
        InMemoryBackend second = machine("sim-h100-1");
        InMemoryBackend third = machine("sim-h100-2");
        List<Processor> ps = List.of(start(first), start(second), start(third));
        await("one processor leads", Duration.ofSeconds(3), () -> ps.stream().filter(Processor::leading).count() == 1);
        int leader = ps.indexOf(ps.stream().filter(Processor::leading).findFirst().orElseThrow());
        InMemoryBackend leaderMachine = List.of(first, second, third).get(leader);
        List<UUID> ids = List.of(submit(2, "1"), submit(bob, 2, "1", Reservation.Options.NONE), submit(4, "1"));
        await("all active", Duration.ofSeconds(5), () -> ids.stream().allMatch(id -> get(id).status() == ReservationStatus.ACTIVE));
        var before = endpoints(ids);
        Thread.sleep(2_000); // several cycles and lease periods of all three
        assertEquals(before, endpoints(ids), "no endpoint flips");
        ids.forEach(id -> assertEquals(ReservationStatus.ACTIVE, get(id).status(), "none failed by another processor"));
        for (InMemoryBackend m : List.of(first, second, third)) {
            int expected = m == leaderMachine ? 3 : 0;
            assertEquals(expected, m.observe().size(), "environments only where the leader runs them");
        }
        var published = db.query(c -> new CapacityTable().read(c));
        assertEquals(leaderMachine.capacity(), published, "the capacity is the leader's machine's alone");
        assertEquals(1, ps.stream().filter(Processor::leading).count());
    }

    @Test
    void whenTheProcessorThatRunsDiesAStandbyTakesOverAndMakesItsEnvironmentsAgain() throws Exception {
        InMemoryBackend a = machine("n0");
        InMemoryBackend b = machine("n0");
        Processor pa = start(a);
        await("the first leads", Duration.ofSeconds(3), pa::leading);
        Processor pb = start(b);
        UUID id = submit(2, "1");
        await("active", Duration.ofSeconds(5), () -> get(id).status() == ReservationStatus.ACTIVE);
        assertTrue(!pb.leading() && b.observe().isEmpty(), "the standby does nothing");
        pa.stop(); // dies without giving the lease up
        await("the standby takes over", Duration.ofSeconds(5), pb::leading);
        await("its environment made again on the new machine", Duration.ofSeconds(5),
                () -> b.observe().containsKey(Reservation.environmentName(id)));
        assertEquals(ReservationStatus.ACTIVE, get(id).status());
    }
}
