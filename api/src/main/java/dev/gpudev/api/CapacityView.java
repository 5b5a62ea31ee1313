package dev.gpudev.api;

import dev.gpudev.core.BackendTraits;
import dev.gpudev.core.Capacity;
import dev.gpudev.store.CapacityTable;
import dev.gpudev.store.Database;

import java.time.Duration;

/**
 * Capacity as the processor published it, read at most once a second: nodes change rarely, submits
 * often. The API never asks a backend: it may run in another process than the processor.
 */
final class CapacityView {
    private static final Duration FRESH = Duration.ofSeconds(1);

    private final Database db;
    private final CapacityTable table;
    private final BackendTraits configured;
    private volatile Capacity cached;
    private volatile BackendTraits traits;
    /** When it was read, on the monotonic clock: how fresh a cache is, not a time of the domain. */
    private volatile long readAtNanos;

    CapacityView(Database db, CapacityTable table, BackendTraits configured) {
        this.db = db;
        this.table = table;
        this.configured = configured;
    }

    /** What the backend is, as its processor published it (until one did: as configured). */
    BackendTraits traits() {
        current();
        return traits;
    }

    /** The nodes that exist. */
    Capacity current() {
        reachable();
        return existing;
    }

    /** The nodes that exist and those elastic pools may start: what a request is checked against. */
    Capacity reachable() {
        long now = System.nanoTime();
        if (cached == null || now - readAtNanos > FRESH.toNanos()) {
            var read = db.query(c -> java.util.Map.entry(table.read(c), table.readTraits(c).orElse(configured)));
            traits = read.getValue();
            existing = read.getKey().existing();
            cached = read.getKey();
            readAtNanos = now;
        }
        return cached;
    }

    private volatile Capacity existing;
}
