package dev.gpudev.core;

import java.math.BigDecimal;
import java.util.List;

/**
 * What a user asks for at submit, checked against the rules before anything is stored. Whether it
 * fits the nodes there are is {@link Feasibility}'s question, asked with the real node sizes.
 */
public record ReservationRequest(String gpuType, int gpuCount, BigDecimal durationHours, String name, boolean distributed) {

    public ReservationRequest(String gpuType, int gpuCount, BigDecimal durationHours, String name) {
        this(gpuType, gpuCount, durationHours, name, false);
    }

    private static final BigDecimal SECONDS_PER_HOUR = new BigDecimal(3600);
    private static final BigDecimal MIN_SECONDS = new BigDecimal("299.5");
    public static final BigDecimal MAX_HOURS = new BigDecimal("24");
    /** More GPUs than this in one reservation is a typo, whatever the cluster. */
    public static final int MAX_GPUS = 512;

    /** Checks the request's form against the catalog; throws {@link ValidationException} saying what to change. */
    public ReservationRequest validate(GpuCatalog catalog) {
        return validate(catalog, List.of());
    }

    /**
     * As {@link #validate(GpuCatalog)}, naming the types this cluster has (when it has any) rather than every
     * type the catalog knows. A type is found whatever its case ({@code H100} is {@code h100}); the request
     * returned carries the catalog's name.
     */
    public ReservationRequest validate(GpuCatalog catalog, List<String> offered) {
        String choices = offered.isEmpty() ? names(catalog) : String.join(", ", offered);
        if (gpuType == null || gpuType.isBlank()) {
            throw new ValidationException("gpu_type is required (one of " + choices + ")");
        }
        GpuType type = catalog.find(gpuType).orElseThrow(() -> new ValidationException(
                "unknown gpu_type '" + Names.shown(gpuType) + "': this cluster has " + choices));
        String canonical = type.name();
        if (type.gpusPerNode() == 0) {
            if (gpuCount != 0) {
                throw new ValidationException("gpu_type " + canonical + " has no GPUs: ask for gpu_count 0");
            }
            if (distributed) {
                throw new ValidationException("gpu_type " + canonical + " has no GPUs: a distributed reservation spans GPU nodes");
            }
        } else if (gpuCount < 1 || gpuCount > MAX_GPUS || (!distributed && Integer.bitCount(gpuCount) != 1)) {
            throw new ValidationException("gpu_count " + gpuCount + " is not possible: use 1, 2, 4 or 8 on one node,"
                    + " or whole nodes with distributed (--distributed)");
        }
        if (durationHours == null) {
            throw new ValidationException("duration_hours is required (from 0.0833 = 5 minutes to 24)");
        }
        // One message for any value out of range, however it is written (25, 1e9); 5 minutes written as a
        // rounded fraction of an hour (0.0833) still counts as 5 minutes.
        BigDecimal seconds = durationHours.multiply(SECONDS_PER_HOUR);
        if (seconds.compareTo(MIN_SECONDS) < 0 || durationHours.compareTo(MAX_HOURS) > 0) {
            String shown = durationHours.abs().compareTo(BigDecimal.valueOf(1_000_000)) > 0 ? durationHours.toString()
                    : durationHours.stripTrailingZeros().toPlainString();
            throw new ValidationException("duration_hours " + shown + " is out of range: reserve from 5 minutes (0.0833) to 24 hours");
        }
        if (durationHours.scale() > 6) {
            throw new ValidationException("duration_hours " + durationHours.toPlainString() + " has too many decimals: use at most 6");
        }
        if (name != null) {
            Names.check("name", name);
        }
        return canonical.equals(gpuType) ? this : new ReservationRequest(canonical, gpuCount, durationHours, name, distributed);
    }

    private static String names(GpuCatalog catalog) {
        return String.join(", ", catalog.all().stream().map(GpuType::name).toList());
    }
}
