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

    /** The first time at or after {@code from} when fewer than {@code units} are free; {@link Long#MAX_VALUE} if never. */
    long freeUntil(int units, long from) {
        for (int i = indexOf(from); i < size; i++) {
            if (free[i] < units) {
                return Math.max(from, times[i]);
            }
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

    /** Receives a stretch: {@code [start, end)}, {@code end = Long.MAX_VALUE} for the one that lasts for ever. */
    interface StretchSink {
        void stretch(long start, long end);
    }

    /**
     * Every maximal stretch with at least {@code units} free that touches {@code [lo, hi]} (starts at or
     * before hi and ends at or after lo). A reservation of {@code [lo, hi)} changes only those: the
     * stretches it touched before, and those it touches after, are all a search index must replace;
     * the rest of a deep timeline is not read.
     */
    void stretchesTouching(int units, long lo, long hi, StretchSink sink) {
        int i = indexOf(lo);
        if (free[i] < units && i > 0 && times[i] == lo && free[i - 1] >= units) {
            i--; // a stretch that ends exactly at lo touches it
        }
        while (i > 0 && free[i] >= units && free[i - 1] >= units) {
            i--; // back to the start of the stretch holding lo
        }
        while (i < size && times[i] <= hi) {
            if (free[i] < units) {
                i++;
                continue;
            }
            int j = i;
            while (j < size && free[j] >= units) {
                j++;
            }
            sink.stretch(times[i], j == size ? Long.MAX_VALUE : times[j]);
            i = j;
        }
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
