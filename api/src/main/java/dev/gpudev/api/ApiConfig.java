package dev.gpudev.api;

/**
 * Settings of the API. The SSH proxy address is what clients are told to connect to.
 *
 * @param apiKeyTtlHours lifetime of a new API key (API_KEY_TTL_HOURS, 1-168, default 2)
 * @param maxGpusPerUser the scheduler's per-user limit (0: none), so a submit that can never start is refused
 * @param rateLimitPerKey requests per second per API key (RATE_LIMIT_PER_KEY, default 20; bursts of twice that)
 * @param rateLimitPerAddress requests per second per client address (RATE_LIMIT_PER_ADDRESS, default 50)
 * @param aws where STS is and which role may log in (AWS_REGION, AWS_ENDPOINT_URL_STS, ALLOWED_AWS_ROLE)
 */
public record ApiConfig(int apiKeyTtlHours, String sshProxyHost, int sshProxyPort, int maxGpusPerUser,
                        double rateLimitPerKey, double rateLimitPerAddress, AwsLogin.Settings aws, java.time.Duration grace) {

    /** How long after its end a reservation keeps its GPUs (the processor's grace period): estimates count it. */
    public static final java.time.Duration DEFAULT_GRACE = java.time.Duration.ofMinutes(1);

    public ApiConfig(int apiKeyTtlHours, String sshProxyHost, int sshProxyPort, int maxGpusPerUser,
                     double rateLimitPerKey, double rateLimitPerAddress, AwsLogin.Settings aws) {
        this(apiKeyTtlHours, sshProxyHost, sshProxyPort, maxGpusPerUser, rateLimitPerKey, rateLimitPerAddress, aws, DEFAULT_GRACE);
    }

    public ApiConfig(int apiKeyTtlHours, String sshProxyHost, int sshProxyPort, int maxGpusPerUser) {
        this(apiKeyTtlHours, sshProxyHost, sshProxyPort, maxGpusPerUser, rate("RATE_LIMIT_PER_KEY", 20), rate("RATE_LIMIT_PER_ADDRESS", 50),
                AwsLogin.Settings.fromEnvironment());
    }

    public ApiConfig(int apiKeyTtlHours, String sshProxyHost, int sshProxyPort, int maxGpusPerUser,
                     double rateLimitPerKey, double rateLimitPerAddress) {
        this(apiKeyTtlHours, sshProxyHost, sshProxyPort, maxGpusPerUser, rateLimitPerKey, rateLimitPerAddress,
                AwsLogin.Settings.fromEnvironment());
    }

    /** Requests per second (bursts of twice that) from the environment, or the default. */
    static double rate(String variable, double dflt) {
        String v = System.getenv(variable);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            double d = Double.parseDouble(v.trim());
            if (d < 0.1 || d > 100_000) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(variable + " must be requests per second, 0.1-100000, not '" + v + "'");
        }
    }

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
