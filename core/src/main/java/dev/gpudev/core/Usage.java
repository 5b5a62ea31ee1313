package dev.gpudev.core;

import java.util.Map;
import java.util.TreeMap;

/** GPUs in use and waiting, per type, and live reservations by state: what availability, status and metrics show. */
public record Usage(Map<String, OfType> byType) {
    public Usage {
        byType = Map.copyOf(byType);
    }

    /**
     * @param gpusInUse          GPUs held by preparing and active reservations
     * @param queuedGpus         GPUs asked for by waiting reservations
     */
    public record OfType(int queued, int preparing, int active, int gpusInUse, int queuedGpus) {
        public static final OfType NONE = new OfType(0, 0, 0, 0, 0);
    }

    public OfType of(String type) {
        return byType.getOrDefault(type, OfType.NONE);
    }

    public int count(ReservationStatus status) {
        return byType.values().stream().mapToInt(t -> switch (status) {
            case QUEUED -> t.queued();
            case PREPARING -> t.preparing();
            case ACTIVE -> t.active();
            default -> 0;
        }).sum();
    }

    public int gpusInUse() {
        return byType.values().stream().mapToInt(OfType::gpusInUse).sum();
    }

    /** Adds a row of the usage query: a type, a state, how many reservations and their GPUs. */
    public static final class Builder {
        private final Map<String, int[]> rows = new TreeMap<>();

        public Builder add(String type, ReservationStatus status, int reservations, int gpus) {
            int[] r = rows.computeIfAbsent(type, t -> new int[5]);
            switch (status) {
                case QUEUED -> {
                    r[0] += reservations;
                    r[4] += gpus;
                }
                case PREPARING -> {
                    r[1] += reservations;
                    r[3] += gpus;
                }
                case ACTIVE -> {
                    r[2] += reservations;
                    r[3] += gpus;
                }
                default -> {
                }
            }
            return this;
        }

        public Usage build() {
            Map<String, OfType> out = new TreeMap<>();
            rows.forEach((t, r) -> out.put(t, new OfType(r[0], r[1], r[2], r[3], r[4])));
            return new Usage(out);
        }
    }
}
