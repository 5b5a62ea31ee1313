package dev.gpudev.processor;

import dev.gpudev.core.Reservation;
import dev.gpudev.core.ReservationStatus;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The reservations that hold GPUs (preparing and active), read once per cycle and handed from step to
 * step: what the sweeper ends leaves the set, what the scheduler admits joins it, so no step reads
 * them again. Each change is a compare-and-set on the row's state, and the new row replaces the old one here.
 */
final class LiveSet {
    private final Map<UUID, Reservation> byId = new LinkedHashMap<>();

    LiveSet(List<Reservation> rows) {
        rows.forEach(this::put);
    }

    /** A reservation's newest row: kept while it holds GPUs, dropped when it ended. */
    void put(Reservation r) {
        if (r.status().holdsGpus()) {
            byId.put(r.id(), r);
        } else {
            byId.remove(r.id());
        }
    }

    /** A reservation found no longer live (its compare-and-set found it moved on). */
    void remove(UUID id) {
        byId.remove(id);
    }

    /** The rows as they are now (read under the scheduler's lock after another replica scheduled). */
    void replaceAll(List<Reservation> fresh) {
        byId.clear();
        fresh.forEach(this::put);
    }

    List<Reservation> all() {
        return new ArrayList<>(byId.values());
    }

    boolean isEmpty() {
        return byId.isEmpty();
    }

    List<UUID> ids() {
        return new ArrayList<>(byId.keySet());
    }

    static ReservationStatus[] states() {
        return new ReservationStatus[]{ReservationStatus.PREPARING, ReservationStatus.ACTIVE};
    }
}
