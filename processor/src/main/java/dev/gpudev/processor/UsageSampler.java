package dev.gpudev.processor;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.store.UsageSamples;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Once a minute, GPUs in use and asked for per type, from the cycle's live set (no query of its own):
 * the dashboard draws the last day of them. Replicas write the same minute once.
 */
final class UsageSampler {
    static final Duration KEEP = Duration.ofDays(8);

    private final Parts p;
    private Instant lastMinute;

    UsageSampler(Parts parts) {
        this.p = parts;
    }

    void sample(LiveSet live, Capacity capacity) {
        Instant minute = p.clock().instant().truncatedTo(ChronoUnit.MINUTES);
        if (minute.equals(lastMinute)) {
            return;
        }
        List<UsageSamples.Sample> samples = samples(minute, live.all(), capacity);
        p.db().inTransaction(c -> {
            p.usageSamples().record(c, samples, minute.minus(KEEP));
            return null;
        });
        lastMinute = minute;
    }

    /** One sample per type that has GPUs or reservations: [total, in use, queued, queued GPUs]. */
    static List<UsageSamples.Sample> samples(Instant at, List<Reservation> live, Capacity capacity) {
        Map<String, int[]> byType = new TreeMap<>();
        if (capacity != null) {
            for (Capacity.Node n : capacity.nodes()) {
                byType.computeIfAbsent(n.gpuType(), t -> new int[4])[0] += n.gpus().size();
            }
        }
        for (Reservation r : live) {
            int[] t = byType.computeIfAbsent(r.gpuType(), x -> new int[4]);
            if (r.status() == ReservationStatus.QUEUED) {
                t[2]++;
                t[3] += r.gpuCount();
            } else if (r.status() == ReservationStatus.PREPARING || r.status() == ReservationStatus.ACTIVE) {
                t[1] += r.gpuCount();
            }
        }
        List<UsageSamples.Sample> out = new ArrayList<>();
        byType.forEach((type, t) -> out.add(new UsageSamples.Sample(at, type, t[0], t[1], t[2], t[3])));
        return out;
    }
}
