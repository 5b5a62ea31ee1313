package dev.gpudev.processor;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

class CycleStatsTest {
    @Test
    void aPeriodIsSaidAsCountMedianP99AndMax() {
        CycleStats s = new CycleStats(Duration.ofHours(1));
        for (int i = 1; i <= 200; i++) {
            s.add(i * 1_000_000L, 0);
        }
        assertEquals("processor cycles in the last 60 s: 200, p50 100 ms, p99 198 ms, max 200 ms", s.line(Duration.ofSeconds(60)));
        assertEquals("processor cycles in the last 5 s: 0", new CycleStats(Duration.ofSeconds(5)).line(Duration.ofSeconds(5)));
    }
}
