package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The index's search gives what a plain scan of every node gives (the earliest start, and among nodes
 * starting then the best fit), on random clusters as reservations are placed one after another: asking
 * the tree of stretches never misses the answer, and replacing only what a placement touches keeps the
 * tree true.
 */
class NodeIndexTest {
    @Test
    void theIndexedSearchAgreesWithAScanOfEveryNode() {
        agreesWithAScan(new Random(42), 5, NodeIndex.FIT_CANDIDATES - 5, true);
    }

    /** Past {@link NodeIndex#FIT_CANDIDATES} nodes that can start then, the fit is the best among that many; the start is still the earliest. */
    @Test
    void onLargeClustersTheStartIsStillTheEarliestAndTheNodeHoldsIt() {
        agreesWithAScan(new Random(7), 100, 300, false);
    }

    private static void agreesWithAScan(Random rnd, int minNodes, int moreNodes, boolean bestFit) {
        int[] sizes = {1, 2, 4, 8};
        long hour = 3_600_000;
        for (int round = 0; round < (bestFit ? 80 : 10); round++) {
            long now = 1_000_000_000L;
            List<Capacity.Node> nodes = new ArrayList<>();
            int count = minNodes + rnd.nextInt(moreNodes);
            for (int n = 0; n < count; n++) {
                nodes.add(new Capacity.Node("n" + n, "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), false));
            }
            NodeIndex index = new NodeIndex(new Capacity(nodes), now);
            // What is held now: each node a few reservations of random size and end.
            for (Capacity.Node node : nodes) {
                int used = 0;
                while (rnd.nextInt(3) > 0) {
                    int k = sizes[rnd.nextInt(3)];
                    if (used + k > 8) {
                        break;
                    }
                    used += k;
                    index.timeline(node.name()).reserve(now, now + (1 + rnd.nextInt(48)) * hour / 2, k);
                }
            }
            for (int q = 0; q < 400; q++) {
                int k = sizes[rnd.nextInt(sizes.length)];
                long duration = (1 + rnd.nextInt(16)) * hour / 2 + rnd.nextInt(60_000);
                long notBefore = now + (rnd.nextInt(3) == 0 ? rnd.nextInt(48) * hour / 2 + rnd.nextInt(60_000) : 0);
                NodeIndex.Slot fast = index.earliest("h100", k, duration, notBefore);
                NodeIndex.Slot scan = index.earliestAmong(nodes, k, duration, notBefore);
                assertEquals(scan.start(), fast.start(), "round " + round + " query " + q + ": the earliest start");
                if (scan.node() != null) {
                    assertEquals(fast.start(), index.timeline(fast.node().name()).earliest(k, duration, fast.start(), fast.start() + 1),
                            "round " + round + " query " + q + ": the node chosen can start it then");
                }
                if (scan.node() != null && bestFit) {
                    assertEquals(index.timeline(scan.node().name()).freeAt(scan.start()), index.timeline(fast.node().name()).freeAt(fast.start()),
                            "round " + round + " query " + q + ": as good a fit");
                }
                if (scan.node() != null) {
                    index.reserve(fast.node(), fast.start(), fast.start() + duration, k);
                }
            }
        }
    }

    /** Edge cases a review found: a zero duration still needs the GPUs free at its start; a node named twice is one node. */
    @Test
    void aZeroDurationNeedsTheStartFreeAndANodeNamedTwiceIsOneNode() {
        long now = 0;
        NodeIndex one = new NodeIndex(new Capacity(List.of(new Capacity.Node("n0", "h", List.of(0), false))), now);
        one.earliest("h", 1, 1, 0); // the index for one GPU exists before the placement
        one.reserve(one.nodes("h").getFirst(), 5, 10, 1);
        assertEquals(10, one.earliest("h", 1, 0, 5).start(), "busy from 5 until 10");

        var x = new Capacity.Node("x", "h", List.of(0), false);
        NodeIndex twice = new NodeIndex(new Capacity(List.of(x, x)), now);
        assertEquals(1, twice.nodes("h").size());
        twice.earliest("h", 1, 1, 0);
        twice.reserve(x, 0, 100, 1);
        assertEquals(100, twice.earliest("h", 1, 10, 0).start(), "the one node is busy until 100");
    }
}
