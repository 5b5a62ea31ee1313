package dev.gpudev.core;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
        assertEquals(10, longestStretch(t, 6), "6 free before 30 only in [0, 10)");
        assertEquals(15, longestStretch(t, 1), "one GPU is free in [0, 15), then from 20 for good");
        assertEquals(30, t.earliest(6, 1, 12, Long.MAX_VALUE), "from 12, six are free first at 30");
    }

    /** The longest finite stretch with at least k free, from the records the scheduler keeps. */
    static long longestStretch(Timeline t, int k) {
        long[] starts = new long[NodeIndex.CLASSES];
        Arrays.fill(starts, Long.MAX_VALUE);
        long[] longest = new long[NodeIndex.CLASSES];
        t.stretchStarts(k, Long.MIN_VALUE, starts, longest);
        return Arrays.stream(longest).max().orElse(0);
    }

    /**
     * The scheduler keeps, per node and GPU count, the earliest stretch of each class of length and the
     * longest, and after a placement looks only where they can have changed ({@link Timeline#restretch}).
     * Random placements, mostly at the tail as in a deep queue: the kept records always equal a scan of
     * the whole timeline.
     */
    @Test
    void keptStretchesEqualFullScansAfterEveryPlacement() {
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            int capacity = 1 + random.nextInt(8);
            Timeline t = new Timeline(0, capacity);
            long[] open = new long[capacity + 1];
            long[][] starts = new long[capacity + 1][NodeIndex.CLASSES];
            long[][] longest = new long[capacity + 1][NodeIndex.CLASSES];
            long[] present = new long[capacity + 1];
            for (int k = 1; k <= capacity; k++) {
                open[k] = t.openFrom(k);
                Arrays.fill(starts[k], Long.MAX_VALUE);
                present[k] = t.stretchStarts(k, Long.MIN_VALUE, starts[k], longest[k]);
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
                    present[k] = t.restretch(k, start, open[k], starts[k], longest[k], present[k]);
                    open[k] = t.openFrom(k);
                    long[] fullStarts = new long[NodeIndex.CLASSES];
                    Arrays.fill(fullStarts, Long.MAX_VALUE);
                    long[] fullLongest = new long[NodeIndex.CLASSES];
                    long fullPresent = t.stretchStarts(k, Long.MIN_VALUE, fullStarts, fullLongest);
                    assertEquals(fullPresent, present[k], "classes of " + k);
                    assertArrayEquals(fullStarts, starts[k], "earliest stretch per class of " + k);
                    assertArrayEquals(fullLongest, longest[k], "longest stretch per class of " + k);
                }
            }
        }
    }
}
