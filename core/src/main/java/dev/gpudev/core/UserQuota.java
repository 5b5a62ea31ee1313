package dev.gpudev.core;

import java.util.HashMap;
import java.util.Map;

/**
 * Per-user limits as timelines of allowance: a reservation held back by its owner's limit is planned
 * for when the owner's own reservations end, and holds nobody else back.
 */
final class UserQuota {
    private final Scheduler.Limits limits;
    private final long now;
    private final Map<Long, Timeline> overall = new HashMap<>();
    private final Map<String, Timeline> perType = new HashMap<>();

    UserQuota(Scheduler.Limits limits, long now) {
        this.limits = limits;
        this.now = now;
    }

    /** The user's reservation holds its GPUs from start until end. */
    void use(Reservation r, long start, long end) {
        Timeline o = overall(r);
        if (o != null) {
            o.reserve(start, end, r.gpuCount());
        }
        Timeline t = perType(r);
        if (t != null) {
            t.reserve(start, end, r.gpuCount());
        }
    }

    /** The earliest time at or after notBefore when the owner may hold k more GPUs for the duration. */
    long earliest(Reservation r, int k, long duration, long notBefore) {
        Timeline o = overall(r);
        Timeline t = perType(r);
        long at = notBefore;
        while (true) {
            long next = o == null ? at : o.earliest(k, duration, at, Long.MAX_VALUE);
            next = t == null || next == Long.MAX_VALUE ? next : t.earliest(k, duration, next, Long.MAX_VALUE);
            if (next == at || next == Long.MAX_VALUE) {
                return next;
            }
            at = next;
        }
    }

    private Timeline overall(Reservation r) {
        if (limits.maxGpusPerUser() <= 0) {
            return null;
        }
        return overall.computeIfAbsent(r.userId(), u -> new Timeline(now, limits.maxGpusPerUser()));
    }

    private Timeline perType(Reservation r) {
        Integer limit = limits.maxGpusPerUserPerType().get(r.gpuType());
        if (limit == null || limit <= 0) {
            return null;
        }
        return perType.computeIfAbsent(r.userId() + "/" + r.gpuType(), k -> new Timeline(now, limit));
    }
}
