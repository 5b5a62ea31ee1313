package dev.gpudev.core;

import java.util.Arrays;

/**
 * Free capacity over time as a step function: {@code free[i]} units are free from {@code times[i]}
 * until {@code times[i + 1]} (the last step lasts forever). A node's GPUs, or a user's allowance
 * under a limit, are both timelines. Primitive arrays: a scheduling cycle queries these millions
 * of times.
 */
final class Timeline {
    private long[] times;
    private int[] free;
    private int size;

    /** A timeline starting at {@code now} with {@code capacity} free, minus what is held until each end. */
    Timeline(long now, int capacity) {
        times = new long[8];
        free = new int[8];
        times[0] = now;
        free[0] = capacity;
        size = 1;
    }

    /** Marks {@code units} as used from {@code start} until {@code end}. */
    void reserve(long start, long end, int units) {
        if (end <= start || units == 0) {
            return;
        }
        int from = split(Math.max(start, times[0]));
        int to = split(end);
        for (int i = from; i < to; i++) {
            free[i] -= units;
        }
    }

    /** Free units at time t. */
    int freeAt(long t) {
        return free[indexOf(t)];
    }

    /**
     * The earliest time at or after {@code notBefore}, and before {@code bound}, from which
     * {@code units} are free for {@code duration}; {@link Long#MAX_VALUE} if there is none.
     */
    long earliest(int units, long duration, long notBefore, long bound) {
        int i = indexOf(notBefore);
        long candidate = Math.max(notBefore, times[0]);
        while (candidate < bound) {
            long end = candidate + duration;
            int j = i;
            boolean fits = true;
            while (j < size && (j == i || times[j] < end)) {
                if (free[j] < units) {
                    fits = false;
                    break;
                }
                j++;
            }
            if (fits) {
                return candidate;
            }
            // The step at j is too full: the next candidate is when it ends.
            if (j + 1 >= size) {
                return Long.MAX_VALUE;
            }
            i = j + 1;
            candidate = times[i];
        }
        return Long.MAX_VALUE;
    }

    /** The start of the last stretch with at least {@code units} free: from then on they stay free for ever. */
    long openFrom(int units) {
        int i = size - 1;
        while (i > 0 && free[i - 1] >= units) {
            i--;
        }
        return times[i];
    }

    /**
     * For each class of length (see {@link NodeIndex#gapClass}), the start of the earliest finite stretch
     * with at least {@code units} free (before {@link #openFrom}) of that class, written into {@code starts}
     * where it holds {@link Long#MAX_VALUE}: the stretches from the step containing {@code from} on (all of
     * them with {@link Long#MIN_VALUE}); stretches already recorded, being earlier, stay. {@code longest}
     * keeps the longest stretch of each class. Returns the classes present, one bit each.
     */
    long stretchStarts(int units, long from, long[] starts, long[] longest) {
        long present = 0;
        long open = openFrom(units);
        long runStart = -1;
        for (int i = from == Long.MIN_VALUE ? 0 : indexOf(from); i < size && times[i] < open; i++) {
            if (free[i] >= units) {
                if (runStart < 0) {
                    runStart = times[i];
                }
            } else if (runStart >= 0) {
                present |= record(times[i] - runStart, runStart, starts, longest);
                runStart = -1;
            }
        }
        if (runStart >= 0 && open > runStart) {
            present |= record(open - runStart, runStart, starts, longest); // cannot happen (it would be the open stretch); be safe
        }
        return present;
    }

    /**
     * Keeps the records of {@link #stretchStarts} true after a reservation placed at {@code placedAt}, where
     * the stretches of {@code units} were open from {@code oldOpen} before it: one placed in the open stretch
     * leaves those before it as they were (and earlier), so only what follows is read (a deep queue
     * appends at the tail, and a full scan per placement made planning quadratic in its depth); one placed
     * before it reads them all again. Returns the classes present.
     */
    long restretch(int units, long placedAt, long oldOpen, long[] starts, long[] longest, long present) {
        if (placedAt >= oldOpen) {
            return present | stretchStarts(units, oldOpen, starts, longest);
        }
        Arrays.fill(starts, Long.MAX_VALUE);
        Arrays.fill(longest, 0);
        return stretchStarts(units, Long.MIN_VALUE, starts, longest);
    }

    private static long record(long length, long start, long[] starts, long[] longest) {
        int c = NodeIndex.gapClass(length);
        if (starts[c] == Long.MAX_VALUE) {
            starts[c] = start;
        }
        longest[c] = Math.max(longest[c], length);
        return 1L << c;
    }

    /** Index of the step that contains t (t before the start counts as the first step). */
    private int indexOf(long t) {
        int k = Arrays.binarySearch(times, 0, size, t);
        if (k >= 0) {
            return k;
        }
        int insertion = -k - 1;
        return Math.max(0, insertion - 1);
    }

    /** Makes t a step boundary; returns the index of the step starting at t. */
    private int split(long t) {
        int k = Arrays.binarySearch(times, 0, size, t);
        if (k >= 0) {
            return k;
        }
        int insertion = -k - 1;
        if (size == times.length) {
            times = Arrays.copyOf(times, size * 2);
            free = Arrays.copyOf(free, size * 2);
        }
        System.arraycopy(times, insertion, times, insertion + 1, size - insertion);
        System.arraycopy(free, insertion, free, insertion + 1, size - insertion);
        times[insertion] = t;
        free[insertion] = free[insertion - 1];
        size++;
        return insertion;
    }
}
