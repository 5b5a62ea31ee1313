package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class TimelineTest {

    @Test
    void freeCapacityIsTheCapacityLessWhatIsReservedAtEachMoment() {
        Timeline t = new Timeline(0, 8);
        t.reserve(10, 20, 3);
        t.reserve(15, 30, 5);
        assertEquals(8, t.freeAt(5));
        assertEquals(5, t.freeAt(12));
        assertEquals(0, t.freeAt(17));
        assertEquals(3, t.freeAt(25));
        assertEquals(8, t.freeAt(30));
        assertEquals(0, t.earliest(4, 10, 0, Long.MAX_VALUE));
        assertEquals(30, t.earliest(4, 10, 11, Long.MAX_VALUE), "from 11, four GPUs for 10 are free only after 30");
        assertEquals(20, t.openFrom(1));
        assertEquals(30, t.openFrom(4));
        assertEquals(10, longestStretch(t, 6), "6 free before 30 only in [0, 10)");
        assertEquals(15, longestStretch(t, 1), "one GPU is free in [0, 15), then from 20 for good");
        assertEquals(30, t.earliest(6, 1, 12, Long.MAX_VALUE), "from 12, six are free first at 30");
    }

    /** The longest finite stretch with at least k free, from a scan of the whole timeline. */
    static long longestStretch(Timeline t, int k) {
        long[] longest = {0};
        t.stretchesTouching(k, Long.MIN_VALUE, Long.MAX_VALUE, (from, until) -> {
            if (until != Long.MAX_VALUE) {
                longest[0] = Math.max(longest[0], until - from);
            }
        });
        return longest[0];
    }

    static java.util.TreeMap<Long, Long> allStretches(Timeline t, int k) {
        java.util.TreeMap<Long, Long> all = new java.util.TreeMap<>();
        t.stretchesTouching(k, Long.MIN_VALUE, Long.MAX_VALUE, all::put);
        return all;
    }

    /**
     * The scheduler's index replaces, on each placement, only the stretches the placement touches
     * ({@link Timeline#stretchesTouching} before and after it). Random placements, mostly at the tail as in
     * a deep queue: what is kept that way always equals a scan of the whole timeline.
     */
    @Test
    void stretchesKeptFromWhatEachPlacementTouchesEqualFullScans() {
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            int capacity = 1 + random.nextInt(8);
            Timeline t = new Timeline(0, capacity);
            List<java.util.TreeMap<Long, Long>> kept = new java.util.ArrayList<>();
            kept.add(null);
            for (int k = 1; k <= capacity; k++) {
                kept.add(allStretches(t, k));
            }
            for (int step = 0; step < 60; step++) {
                int units = 1 + random.nextInt(capacity);
                long duration = 1 + random.nextInt(50);
                long start = random.nextInt(4) == 0 ? random.nextInt(400) : t.earliest(units, duration, random.nextInt(400), Long.MAX_VALUE);
                boolean fits = true;
                for (long x = start; x < start + duration; x++) {
                    fits &= t.freeAt(x) >= units;
                }
                if (!fits) {
                    continue;
                }
                for (int k = 1; k <= capacity; k++) {
                    var mine = kept.get(k);
                    t.stretchesTouching(k, start, start + duration, (from, until) -> assertEquals(until, mine.remove(from)));
                }
                t.reserve(start, start + duration, units);
                for (int k = 1; k <= capacity; k++) {
                    var mine = kept.get(k);
                    t.stretchesTouching(k, start, start + duration, (from, until) -> assertNull(mine.put(from, until)));
                    assertEquals(allStretches(t, k), mine, "round " + round + " step " + step + ": stretches of " + k);
                }
            }
        }
    }
}
