package dev.gpudev.core;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A reservation's own environment variables (reserve --env K=V), set in every session and process of its
 * environments. Their values may be secrets: shown to the owner only, and this record's text never holds
 * them (a log line that prints one says how many there are).
 */
public record EnvVars(Map<String, String> values) {
    public static final EnvVars NONE = new EnvVars(Map.of());
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,63}");
    /** Set by the platform in every environment: not a reservation's to change. */
    static final Set<String> PLATFORM = Set.of("HOME", "USER", "LOGNAME", "SHELL", "PATH", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES",
            "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "NODE_RANK", "NNODES", "GPUS_PER_NODE");

    public EnvVars {
        values = values == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** Checked: at most 50, names like shell variables (not the platform's own), values of at most 4096 characters. */
    public EnvVars validate() {
        if (values.size() > 50) {
            throw new ValidationException("env: at most 50 variables");
        }
        values.forEach((k, v) -> {
            if (!NAME.matcher(k).matches()) {
                throw new ValidationException("env: '" + Names.shown(k) + "' is not a variable name (letters, digits and _, not first a digit)");
            }
            if (PLATFORM.contains(k) || k.startsWith("GPU_DEV_") || k.startsWith("GPUDEV_")) {
                throw new ValidationException("env: " + k + " is set by the platform in every environment");
            }
            if (v == null || v.length() > 4096 || v.indexOf('\0') >= 0) {
                throw new ValidationException("env: the value of " + k + " must be text of at most 4096 characters");
            }
        });
        return this;
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    @Override
    public String toString() {
        return "EnvVars[" + values.size() + " variables]";
    }
}
