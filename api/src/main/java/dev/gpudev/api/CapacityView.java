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
    private volatile Instant readAt = Instant.MIN;

    CapacityView(Database db, CapacityTable table) {
        this.db = db;
        this.table = table;
    }

    Capacity current() {
        Instant now = Instant.now();
        if (cached == null || now.isAfter(readAt.plus(FRESH)) || now.isBefore(readAt)) {
            cached = db.query(table::read);
            readAt = now;
        }
        return cached;
    }
}
