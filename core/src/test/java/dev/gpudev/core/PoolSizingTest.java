package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PoolSizingTest {
    static final Instant NOW = Instant.parse("2026-12-03T12:00:00Z");
    static final PoolSizing.Settings S = new PoolSizing.Settings(Duration.ofMinutes(10));

    static PoolSizing.Pool pool(int desired, List<String> nodes) {
        return new PoolSizing.Pool("h100", 8, 0, 4, desired, nodes);
    }

    @Test
    void aQueueOnATypeAtZeroGetsTheNodesItNeedsWithinTheMax() {
        var d = PoolSizing.decide(List.of(pool(0, List.of())), List.of(new PoolSizing.Demand("h100", 2, false, 5)), Set.of(), Map.of(), NOW, S);
        assertEquals(Map.of("h100", 2), d.grow(), "ten GPUs in pieces of two: two nodes of eight");
        var wide = PoolSizing.decide(List.of(pool(0, List.of())), List.of(new PoolSizing.Demand("h100", 16, true, 3)), Set.of(), Map.of(), NOW, S);
        assertEquals(Map.of("h100", 4), wide.grow(), "six whole nodes wanted, four at most");
        var other = PoolSizing.decide(List.of(pool(0, List.of())), List.of(new PoolSizing.Demand("a100", 1, false, 1)), Set.of(), Map.of(), NOW, S);
        assertEquals(PoolSizing.Decision.NONE, other, "another type's queue is not this pool's");
    }

    @Test
    void startingNodesCountAndAPoolAtItsMaxStays() {
        var d = PoolSizing.decide(List.of(pool(2, List.of("n1"))), List.of(new PoolSizing.Demand("h100", 8, false, 1)), Set.of("n1"), Map.of(), NOW, S);
        assertEquals(Map.of("h100", 3), d.grow(), "one exists, one starts, one more for this demand");
        assertEquals(PoolSizing.Decision.NONE,
                PoolSizing.decide(List.of(pool(4, List.of("a", "b", "c", "d"))), List.of(new PoolSizing.Demand("h100", 8, false, 3)),
                        Set.of("a", "b", "c", "d"), Map.of(), NOW, S));
    }

    @Test
    void anEmptyNodeGoesOnlyAfterAWhileWithNothingWaitingAndNeverBelowTheMin() {
        Map<String, Instant> empty = Map.of("a", NOW.minus(Duration.ofMinutes(11)), "b", NOW.minus(Duration.ofMinutes(3)));
        var d = PoolSizing.decide(List.of(pool(2, List.of("a", "b"))), List.of(), Set.of(), empty, NOW, S);
        assertEquals(Map.of("a", "h100"), d.remove(), "b has been empty 3 minutes only");
        assertEquals(PoolSizing.Decision.NONE, PoolSizing.decide(List.of(pool(2, List.of("a", "b"))), List.of(), Set.of("a"), empty, NOW, S),
                "a node something runs on never goes");
        assertEquals(Map.of("a", "h100"), PoolSizing.decide(List.of(pool(2, List.of("a", "b"))),
                List.of(new PoolSizing.Demand("h100", 8, false, 0)), Set.of(), empty, NOW, S).remove(), "a count of zero is no demand");
        var floor = new PoolSizing.Pool("h100", 8, 2, 4, 2, List.of("a", "b"));
        assertEquals(PoolSizing.Decision.NONE, PoolSizing.decide(List.of(floor), List.of(), Set.of(), empty, NOW, S), "the min stays");
        var starting = PoolSizing.decide(List.of(pool(3, List.of("a", "b"))), List.of(), Set.of(), empty, NOW, S);
        assertEquals(PoolSizing.Decision.NONE, starting, "not while a node is starting (it would go the other way at once)");
    }
}
