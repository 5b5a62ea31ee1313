package dev.gpudev.api;

import java.time.Clock;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Token buckets by key (an API key's hash, or a client address): {@code ratePerSecond} tokens flow
 * in, up to {@code burst}; a request takes one. Buckets untouched for a while are dropped.
 */
final class RateLimiter {
    private final double ratePerSecond;
    private final double burst;
    private final Clock clock;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
    private volatile long lastSweep;

    private static final class Bucket {
        double tokens;
        long updatedNanos;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.updatedNanos = now;
        }
    }

    RateLimiter(double ratePerSecond, double burst, Clock clock) {
        this.ratePerSecond = ratePerSecond;
        this.burst = burst;
        this.clock = clock;
    }

    /** 0 when the request may go; otherwise the seconds to wait before the next one would. */
    long acquire(String key) {
        long now = System.nanoTime();
        sweep(now);
        Bucket b = buckets.computeIfAbsent(key, k -> new Bucket(burst, now));
        synchronized (b) {
            double elapsed = (now - b.updatedNanos) / 1e9;
            b.tokens = Math.min(burst, b.tokens + elapsed * ratePerSecond);
            b.updatedNanos = now;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                return 0;
            }
            return Math.max(1, (long) Math.ceil((1 - b.tokens) / ratePerSecond));
        }
    }

    private void sweep(long now) {
        if (now - lastSweep < 60_000_000_000L) {
            return;
        }
        lastSweep = now;
        long idle = (long) (burst / ratePerSecond * 1e9) + 60_000_000_000L;
        buckets.entrySet().removeIf(e -> now - e.getValue().updatedNanos > idle);
    }
}
