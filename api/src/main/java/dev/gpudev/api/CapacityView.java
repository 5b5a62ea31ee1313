package dev.gpudev.api;

import dev.gpudev.core.Capacity;
import dev.gpudev.store.CapacityTable;
import dev.gpudev.store.Database;

import java.time.Duration;
import java.time.Instant;

/**
 * Capacity as the processor published it, read at most once a second: nodes change rarely, submits
 * often. The API never asks a backend: it may run in another process than the processor.
 */
final class CapacityView {
    private static final Duration FRESH = Duration.ofSeconds(1);

    private final Database db;
    private final CapacityTable table;
    private volatile Capacity cached;
    /** When it was read, on the monotonic clock: how fresh a cache is, not a time of the domain. */
    private volatile long readAtNanos;

    CapacityView(Database db, CapacityTable table) {
        this.db = db;
        this.table = table;
    }

    Capacity current() {
        long now = System.nanoTime();
        if (cached == null || now - readAtNanos > FRESH.toNanos()) {
            cached = db.query(table::read);
            readAtNanos = now;
        }
        return cached;
    }
}
