package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The tree of stretches answers its three questions as a plain list of the same stretches does, while
 * stretches are added, removed and given new ends at random (the tree's balance and each subtree's
 * latest end and longest length must stay true through every change).
 */
class StretchIndexTest {
    record S(int node, long start, long end) {
    }

    @Test
    void answersAsAPlainListDoesThroughRandomChanges() {
        Random rnd = new Random(11);
        for (int round = 0; round < 30; round++) {
            StretchIndex index = new StretchIndex();
            List<S> all = new ArrayList<>();
            for (int step = 0; step < 600; step++) {
                int op = rnd.nextInt(10);
                if (op < 5 || all.isEmpty()) {
                    int node = rnd.nextInt(40);
                    long start = rnd.nextInt(1000);
                    if (all.stream().anyMatch(s -> s.node == node && s.start == start)) {
                        continue;
                    }
                    long end = rnd.nextInt(8) == 0 ? Long.MAX_VALUE : start + 1 + rnd.nextInt(200);
                    index.add(node, start, end);
                    all.add(new S(node, start, end));
                } else if (op < 8) {
                    S s = all.remove(rnd.nextInt(all.size()));
                    index.remove(s.node, s.start);
                } else {
                    int i = rnd.nextInt(all.size());
                    S s = all.get(i);
                    long end = s.start + 1 + rnd.nextInt(300);
                    index.setEnd(s.node, s.start, end);
                    all.set(i, new S(s.node, s.start, end));
                }
                assertEquals(all.size(), index.size());
                long at = rnd.nextInt(1100);
                long length = 1 + rnd.nextInt(250);

                List<S> holding = new ArrayList<>();
                index.holding(at, at + length, (node, start) -> holding.add(find(all, node, start)) && false);
                List<S> expected = all.stream().filter(s -> s.start <= at && s.end >= at + length)
                        .sorted(Comparator.comparingLong(S::start).thenComparingInt(S::node).reversed()).toList();
                assertEquals(expected, holding, "round " + round + " step " + step + ": stretches holding [" + at + ", +" + length + ")");

                long first = all.stream().filter(s -> s.start > at && s.end - s.start >= length).mapToLong(S::start).min().orElse(Long.MAX_VALUE);
                assertEquals(first, index.firstAfter(at, length), "round " + round + " step " + step + ": first start after " + at);

                if (first != Long.MAX_VALUE) {
                    List<S> starting = new ArrayList<>();
                    index.startingAt(first, length, (node, start) -> starting.add(find(all, node, start)) && false);
                    assertEquals(all.stream().filter(s -> s.start == first && s.end - s.start >= length)
                            .sorted(Comparator.comparingInt(S::node)).toList(), starting);
                }
            }
        }
    }

    @Test
    void aVisitorThatStopsEndsTheWalk() {
        StretchIndex index = new StretchIndex();
        for (int n = 0; n < 100; n++) {
            index.add(n, n, Long.MAX_VALUE);
        }
        int[] visits = {0};
        index.holding(500, 600, (node, start) -> ++visits[0] == 3);
        assertEquals(3, visits[0]);
    }

    @Test
    void removingWhatIsNotThereIsAnError() {
        StretchIndex index = new StretchIndex();
        index.add(1, 10, 20);
        assertThrows(IllegalStateException.class, () -> index.remove(1, 11));
        assertThrows(IllegalStateException.class, () -> index.setEnd(2, 10, 30));
    }

    private static S find(List<S> all, int node, long start) {
        return all.stream().filter(s -> s.node == node && s.start == start).findFirst().orElseThrow();
    }
}
