package dev.gpudev.processor;

import dev.gpudev.backend.spi.NodePools;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An elastic pool against a stand-in for the cloud: a queue on a type at zero gets a node, the reservation is
 * planned onto the node that starts (its estimate is that node's expected start), starts on it when it joins, and
 * the node goes once it has been empty a while; a pool is never asked twice for the same demand.
 */
class PoolSizerTest extends ProcessorFixture {
    /** The cloud: what each pool was asked for, and which nodes were removed. */
    static final class StandIn implements NodePools {
        final Pool pool = new Pool("h100", "asg-h100", 8, 0, 2);
        final Map<String, Integer> desired = new ConcurrentHashMap<>(Map.of("h100", 0));
        final List<String> asked = new ArrayList<>();
        final List<String> removed = new ArrayList<>();

        public List<Pool> pools() {
            return List.of(pool);
        }

        public int desired(Pool p) {
            return desired.get(p.gpuType());
        }

        public synchronized void resize(Pool p, int n) {
            asked.add(p.gpuType() + "=" + n);
            desired.put(p.gpuType(), n);
        }

        public synchronized void remove(Pool p, String node) {
            removed.add(node);
            desired.merge(p.gpuType(), -1, Integer::sum);
        }
    }

    @Override
    Capacity capacity() {
        return new Capacity(List.of()); // the pool is at zero: no h100 node exists
    }

    static Capacity withNode(String name) {
        return new Capacity(List.of(new Capacity.Node(name, "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), false)));
    }

    @Test
    void aQueueOnATypeAtZeroGetsANodeStartsOnItAndTheNodeGoesAfterItEnds() {
        StandIn cloud = new StandIn();
        backend.pools = cloud;
        Processor p = processor();
        p.pools().tune(Duration.ofSeconds(30), Duration.ofMinutes(10), Duration.ofSeconds(10), Duration.ofMinutes(4));
        p.cycle(); // the pool's size is read
        UUID id = submit(alice, 8, "1", Reservation.Options.NONE);
        p.cycle();
        assertEquals(List.of(), cloud.asked, "it has not waited long enough to start a node for it");
        clock.advance(Duration.ofSeconds(31));
        p.cycle();
        assertEquals(List.of("h100=1"), cloud.asked, "one node of eight for eight GPUs");
        Instant asked = clock.instant();
        p.cycle();
        Reservation waiting = get(id);
        assertEquals(ReservationStatus.QUEUED, waiting.status());
        assertEquals(asked.plus(Duration.ofMinutes(4)), waiting.estimatedStart(), "planned onto the node that starts, when it is expected");
        for (int i = 0; i < 10; i++) { // the node takes its time: never asked twice for the same reservation
            clock.advance(Duration.ofSeconds(15));
            p.cycle();
        }
        assertEquals(List.of("h100=1"), cloud.asked);
        // the node joins three minutes after the ask (the estimate said four: within the node's start time)
        clock.advance(Duration.ofSeconds(30));
        backend.setCapacity(withNode("gpu-a"));
        p.cycle();
        p.cycle();
        Reservation running = get(id);
        assertEquals(ReservationStatus.ACTIVE, running.status());
        assertEquals("gpu-a", running.placement().node());
        Duration late = Duration.between(waiting.estimatedStart(), running.launchedAt());
        assertTrue(late.abs().compareTo(Duration.ofMinutes(4)) <= 0, "the estimate was right within the node's start time: " + late);
        assertTrue(p.pools().nodeStart().compareTo(Duration.ofMinutes(4)) < 0, "the measured start makes the next estimate: " + p.pools().nodeStart());
        // it ends; the node is empty, and goes after ten minutes (not before), once
        send(new dev.gpudev.core.Command.Cancel(id, "alice"));
        p.cycle();
        clock.advance(Duration.ofMinutes(9));
        p.cycle();
        assertEquals(List.of(), cloud.removed, "empty nine minutes: it stays");
        clock.advance(Duration.ofMinutes(2));
        p.cycle();
        assertEquals(List.of("gpu-a"), cloud.removed);
        clock.advance(Duration.ofMinutes(1));
        p.cycle();
        assertEquals(List.of("gpu-a"), cloud.removed, "once");
        assertEquals(0, cloud.desired.get("h100"));
    }

    @Test
    void onlyWhatANewNodeWouldStartGrowsAPoolAndNodesThatNeverComeAreGivenUp() {
        StandIn cloud = new StandIn();
        backend.pools = cloud;
        Processor p = processor();
        p.pools().tune(Duration.ofSeconds(30), Duration.ofMinutes(10), Duration.ofSeconds(10), Duration.ofMinutes(4));
        p.cycle();
        // booked for tomorrow, and one that asks for a zone the pool's nodes are not in: a new node starts neither
        submit(alice, 8, "1", Reservation.Options.NONE.withStartAt(clock.instant().plus(Duration.ofDays(1))));
        submit(alice, 8, "1", new Reservation.Options(null, false, null, Map.of(Reservation.Options.ZONE_LABEL, "us-west-2a"), false, null));
        for (int i = 0; i < 6; i++) {
            clock.advance(Duration.ofSeconds(15));
            p.cycle();
        }
        assertEquals(List.of(), cloud.asked, "nothing a new node would start");
        // a node asked for that never joins (a quota): given up, the pool set back, not asked again for half an hour
        submit(bob, 8, "1", Reservation.Options.NONE);
        clock.advance(Duration.ofSeconds(31));
        p.cycle();
        assertEquals(List.of("h100=1"), cloud.asked);
        for (int i = 0; i < 20; i++) {
            clock.advance(Duration.ofMinutes(1));
            p.cycle();
        }
        assertEquals(List.of("h100=1", "h100=0"), cloud.asked, "after three times the expected start and five minutes: given up, once");
        clock.advance(Duration.ofMinutes(31));
        p.cycle();
        clock.advance(Duration.ofSeconds(11));
        p.cycle();
        assertEquals(List.of("h100=1", "h100=0", "h100=1"), cloud.asked, "tried again after the hold-off");
    }
}

