package dev.gpudev.core;

import java.math.BigDecimal;
import java.util.regex.Pattern;

/** What a user asks for at submit, checked against the rules before anything is stored. */
public record ReservationRequest(String gpuType, int gpuCount, BigDecimal durationHours, String name, boolean distributed) {

    public ReservationRequest(String gpuType, int gpuCount, BigDecimal durationHours, String name) {
        this(gpuType, gpuCount, durationHours, name, false);
    }

    private static final BigDecimal SECONDS_PER_HOUR = new BigDecimal(3600);
    private static final BigDecimal MIN_SECONDS = new BigDecimal("299.5");
    public static final BigDecimal MAX_HOURS = new BigDecimal("24");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    /** Checks the request against the catalog; throws {@link ValidationException} saying what to change. */
    public ReservationRequest validate(GpuCatalog catalog) {
        if (gpuType == null || gpuType.isBlank()) {
            throw new ValidationException("gpu_type is required (one of " + names(catalog) + ")");
        }
        GpuType type = catalog.find(gpuType).orElseThrow(() -> new ValidationException(
                "unknown gpu_type '" + gpuType + "': use one of " + names(catalog)));
        if (type.gpusPerNode() == 0) {
            if (gpuCount != 0) {
                throw new ValidationException("gpu_type " + gpuType + " has no GPUs: ask for gpu_count 0");
            }
        } else if (gpuCount > type.gpusPerNode()) {
            if (!distributed) {
                throw new ValidationException("gpu_count " + gpuCount + " is more than one " + gpuType + " node has ("
                        + type.gpusPerNode() + "): ask for distributed (--distributed) to span whole nodes");
            }
            if (gpuCount % type.gpusPerNode() != 0 || gpuCount / type.gpusPerNode() > 64) {
                throw new ValidationException("a distributed reservation takes whole " + gpuType + " nodes: gpu_count must be a multiple of "
                        + type.gpusPerNode() + " (e.g. " + 2 * type.gpusPerNode() + "), at most 64 nodes");
            }
        } else if (gpuCount < 1 || Integer.bitCount(gpuCount) != 1) {
            throw new ValidationException("gpu_count " + gpuCount + " is not possible on " + gpuType
                    + ": use 1, 2, 4 or 8, at most " + type.gpusPerNode() + " (the GPUs of one " + gpuType + " node)");
        }
        if (durationHours == null) {
            throw new ValidationException("duration_hours is required (from 0.0833 = 5 minutes to 24)");
        }
        // 5 minutes written as a rounded fraction of an hour (0.0833) still counts as 5 minutes.
        BigDecimal seconds = durationHours.multiply(SECONDS_PER_HOUR);
        if (seconds.compareTo(MIN_SECONDS) < 0 || durationHours.compareTo(MAX_HOURS) > 0) {
            throw new ValidationException("duration_hours " + durationHours.toPlainString()
                    + " is out of range: reserve from 5 minutes (0.0833) to 24 hours");
        }
        if (durationHours.scale() > 6) {
            throw new ValidationException("duration_hours has too many decimals: use at most 6");
        }
        if (name != null && !DNS_LABEL.matcher(name).matches()) {
            throw new ValidationException("name '" + name + "' is not valid: use 1-63 lowercase letters, digits"
                    + " and '-', starting and ending with a letter or digit");
        }
        return this;
    }

    private static String names(GpuCatalog catalog) {
        return String.join(", ", catalog.all().stream().map(GpuType::name).toList());
    }
}
