package dev.gpudev.processor;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Arrays;

/**
 * The loop's cycle times over a period, said in one line when it ends: how many, the median, the 99th
 * percentile and the longest ("processor cycles in the last 60 s: 812, p50 4 ms, p99 38 ms, max 120 ms").
 * Per period, so that a reader can bound any window's p99 by the largest period p99 in it. Only the loop's
 * thread adds; nothing is kept beyond one period.
 */
final class CycleStats {
    private static final Logger log = LoggerFactory.getLogger(CycleStats.class);
    private final long periodNanos;
    private long[] nanos = new long[256];
    private int count;
    private long periodStart = -1;

    CycleStats(Duration period) {
        this.periodNanos = period.toNanos();
    }

    void add(long cycleNanos, long now) {
        if (periodStart < 0) {
            periodStart = now;
        }
        if (count == nanos.length) {
            nanos = Arrays.copyOf(nanos, count * 2);
        }
        nanos[count++] = cycleNanos;
        if (now - periodStart >= periodNanos) {
            log.info(line(Duration.ofNanos(now - periodStart)));
            count = 0;
            periodStart = now;
            if (nanos.length > 4096) {
                nanos = new long[256];
            }
        }
    }

    /** The period's line; empty periods say so. */
    String line(Duration period) {
        if (count == 0) {
            return "processor cycles in the last " + period.toSeconds() + " s: 0";
        }
        long[] sorted = Arrays.copyOf(nanos, count);
        Arrays.sort(sorted);
        return String.format(java.util.Locale.ROOT, "processor cycles in the last %d s: %d, p50 %d ms, p99 %d ms, max %d ms", period.toSeconds(),
                count, ms(sorted[(count - 1) / 2]), ms(sorted[(int) Math.min(count - 1, Math.ceil(count * 0.99) - 1)]), ms(sorted[count - 1]));
    }

    private static long ms(long n) {
        return n / 1_000_000;
    }
}
