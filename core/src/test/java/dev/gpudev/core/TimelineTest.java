package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
        assertEquals(10, t.longestGap(6), "6 free before 30 only in [0, 10)");
        assertEquals(15, t.longestGap(1), "one GPU is free in [0, 15), then from 20 for good");
        assertEquals(30, t.firstAtLeast(6, 12));
    }

    /**
     * The scheduler keeps each node's first free moment and longest gap per GPU count, and after a
     * placement looks only where they can have changed. Random placements, mostly at the tail as in a
     * deep queue: the kept values always equal a scan of the whole timeline.
     */
    @Test
    void keptBoundsAndGapsEqualFullScansAfterEveryPlacement() {
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            int capacity = 1 + random.nextInt(8);
            Timeline t = new Timeline(0, capacity);
            long[] bound = new long[capacity + 1];
            long[] open = new long[capacity + 1];
            long[] gap = new long[capacity + 1];
            for (int k = 1; k <= capacity; k++) {
                bound[k] = t.firstAtLeast(k);
                open[k] = t.openFrom(k);
                gap[k] = t.longestGap(k);
            }
            for (int step = 0; step < 60; step++) {
                int units = 1 + random.nextInt(capacity);
                long duration = 1 + random.nextInt(50);
                long start = random.nextInt(4) == 0 ? random.nextInt(400) : t.earliest(units, duration, random.nextInt(400), Long.MAX_VALUE);
                if (t.freeAt(start) < units) {
                    continue;
                }
                long s = start;
                boolean fits = true;
                for (long x = s; x < s + duration; x++) {
                    fits &= t.freeAt(x) >= units;
                }
                if (!fits) {
                    continue;
                }
                t.reserve(start, start + duration, units);
                for (int k = 1; k <= capacity; k++) {
                    bound[k] = t.firstAtLeast(k, bound[k]);
                    gap[k] = start >= open[k] ? Math.max(gap[k], t.longestGap(k, open[k])) : t.longestGap(k);
                    open[k] = t.openFrom(k);
                    assertEquals(t.firstAtLeast(k), bound[k], "first free moment of " + k);
                    assertEquals(t.longestGap(k), gap[k], "longest gap of " + k);
                }
            }
        }
    }
}
