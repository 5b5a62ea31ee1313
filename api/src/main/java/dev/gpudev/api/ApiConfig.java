package dev.gpudev.api;

/**
 * Settings of the API. The SSH proxy address is what clients are told to connect to.
 *
 * @param apiKeyTtlHours lifetime of a new API key (API_KEY_TTL_HOURS, 1-168, default 2)
 * @param maxGpusPerUser the scheduler's per-user limit (0: none), so a submit that can never start is refused
 */
public record ApiConfig(int apiKeyTtlHours, String sshProxyHost, int sshProxyPort, int maxGpusPerUser) {
    public ApiConfig {
        if (apiKeyTtlHours < 1 || apiKeyTtlHours > 168) {
            throw new IllegalArgumentException("API_KEY_TTL_HOURS must be 1-168, not " + apiKeyTtlHours);
        }
    }

    public static int ttlFromEnvironment() {
        String v = System.getenv("API_KEY_TTL_HOURS");
        if (v == null || v.isBlank()) {
            return 2;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("API_KEY_TTL_HOURS must be a whole number of hours (1-168), not '" + v + "'");
        }
    }
}
