package dev.gpudev.processor;

import java.time.Clock;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.Database;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.Usage;
import dev.gpudev.store.UsageSamples;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Once a minute, GPUs in use and asked for per type (the usage query `avail` uses, once a minute): the
 * dashboard draws the last day of them. Replicas write the same minute once.
 */
final class UsageSampler {
    static final Duration KEEP = Duration.ofDays(8);

    private final Database db;
    private final Reservations reservations;
    private final UsageSamples usageSamples;
    private final Clock clock;
    private Instant lastMinute;

    UsageSampler(Database db, Reservations reservations, UsageSamples usageSamples, Clock clock) {
        this.db = db;
        this.reservations = reservations;
        this.usageSamples = usageSamples;
        this.clock = clock;
    }

    void sample(Capacity capacity) {
        Instant minute = clock.instant().truncatedTo(ChronoUnit.MINUTES);
        if (minute.equals(lastMinute)) {
            return;
        }
        db.inTransaction(c -> {
            usageSamples.record(c, samples(minute, reservations.usage(c), capacity), minute.minus(KEEP));
            return null;
        });
        lastMinute = minute;
    }

    /** One sample per type that has GPUs or reservations. */
    static List<UsageSamples.Sample> samples(Instant at, Usage usage, Capacity capacity) {
        Set<String> types = new TreeSet<>(usage.byType().keySet());
        if (capacity != null) {
            capacity.nodes().forEach(n -> types.add(n.gpuType()));
        }
        List<UsageSamples.Sample> out = new ArrayList<>();
        for (String type : types) {
            Usage.OfType u = usage.of(type);
            out.add(new UsageSamples.Sample(at, type, capacity == null ? 0 : capacity.totalGpus(type), u.gpusInUse(), u.queued(),
                    u.queuedGpus()));
        }
        return out;
    }
}
