package dev.gpudev.api;

import dev.gpudev.core.BackendTraits;
import dev.gpudev.core.FairShare;
import dev.gpudev.core.QueueLimits;
import dev.gpudev.core.Scheduler;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Settings of the API. The SSH proxy address is what clients are told to connect to.
 *
 * @param apiKeyTtl           lifetime of a new API key (API_KEY_TTL, e.g. 30m or 8h, 5 minutes to 7 days; or
 *                            API_KEY_TTL_HOURS; default 2 h)
 * @param limits              the scheduler's per-user limits, so that a submit that can never start is refused
 * @param rateLimitPerKey     requests per second per API key (RATE_LIMIT_PER_KEY, default 20; bursts of twice that)
 * @param rateLimitPerAddress requests per second per client address (RATE_LIMIT_PER_ADDRESS, default 50)
 * @param aws                 where STS is and which role and accounts may log in
 * @param grace               the processor's grace period after a reservation's end: estimates count it
 * @param queueLimits         what one user may have waiting (checked at submit)
 * @param backend             what the backend is until a processor publishes it (the configured kind's traits)
 * @param insecureSingleUser  whether everyone may reserve even where environments are not isolated
 * @param fairShare           the queue's fair-share policy (the processor's): dry runs and usage reports follow it
 * @param webhooks            where notifications may go (checked when a user registers a URL)
 * @param clientAddressHeader the header that says the client's address when the API is reached only through a proxy
 *                            that sets it (CloudFront-Viewer-Address): rate limits and the audit use it; null: the peer's
 * @param allowedRegistries   where images may come from ({@link dev.gpudev.core.ImageRef#refused}); empty: any registry
 */
public record ApiConfig(Duration apiKeyTtl, String sshProxyHost, int sshProxyPort, Scheduler.Limits limits,
                        double rateLimitPerKey, double rateLimitPerAddress, AwsLogin.Settings aws, Duration grace,
                        QueueLimits queueLimits, BackendTraits backend, boolean insecureSingleUser, FairShare.Policy fairShare,
                        dev.gpudev.core.WebhookPolicy webhooks, String clientAddressHeader, List<String> allowedRegistries) {

    /** Isolated, each user logging in as themself: what a configuration that says nothing assumes. */
    static final BackendTraits ISOLATED = new BackendTraits("unknown", true, null);

    public static final Duration DEFAULT_GRACE = Duration.ofMinutes(1);
    private static final Duration MIN_TTL = Duration.ofMinutes(5);
    private static final Duration MAX_TTL = Duration.ofDays(7);

    public ApiConfig {
        allowedRegistries = allowedRegistries == null ? List.of() : List.copyOf(allowedRegistries);
        if (apiKeyTtl.compareTo(MIN_TTL) < 0 || apiKeyTtl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("API_KEY_TTL must be 5 minutes to 7 days, not " + apiKeyTtl.toMinutes() + " minutes");
        }
    }

    public ApiConfig(Duration apiKeyTtl, String sshProxyHost, int sshProxyPort, Scheduler.Limits limits,
                     double rateLimitPerKey, double rateLimitPerAddress, AwsLogin.Settings aws, Duration grace) {
        this(apiKeyTtl, sshProxyHost, sshProxyPort, limits, rateLimitPerKey, rateLimitPerAddress, aws, grace, QueueLimits.none(), ISOLATED, false, FairShare.Policy.defaults(),
                dev.gpudev.core.WebhookPolicy.anyPublicHost(), null, List.of());
    }

    public ApiConfig(int apiKeyTtlHours, String sshProxyHost, int sshProxyPort, int maxGpusPerUser,
                     double rateLimitPerKey, double rateLimitPerAddress, AwsLogin.Settings aws) {
        this(Duration.ofHours(apiKeyTtlHours), sshProxyHost, sshProxyPort, new Scheduler.Limits(maxGpusPerUser, Map.of()),
                rateLimitPerKey, rateLimitPerAddress, aws, DEFAULT_GRACE);
    }

    /** Rate limits and AWS settings from the environment (RATE_LIMIT_PER_KEY, RATE_LIMIT_PER_ADDRESS, AWS_*, ALLOWED_AWS_*). */
    public static ApiConfig fromEnvironment(Duration apiKeyTtl, String sshProxyHost, int sshProxyPort, Scheduler.Limits limits,
                                            QueueLimits queueLimits, Duration grace) {
        return new ApiConfig(apiKeyTtl, sshProxyHost, sshProxyPort, limits, rate("RATE_LIMIT_PER_KEY", 20),
                rate("RATE_LIMIT_PER_ADDRESS", 50), AwsLogin.Settings.fromEnvironment(), grace, queueLimits, ISOLATED, false,
                FairShare.Policy.defaults(), dev.gpudev.core.WebhookPolicy.anyPublicHost(), header("CLIENT_ADDRESS_HEADER"), List.of());
    }

    /** A header's name from the environment (letters, digits and '-'), or null. */
    static String header(String variable) {
        String v = System.getenv(variable);
        if (v == null || v.isBlank()) {
            return null;
        }
        if (!v.trim().matches("[A-Za-z0-9-]{1,64}")) {
            throw new IllegalArgumentException(variable + " must be a header's name, like CloudFront-Viewer-Address");
        }
        return v.trim();
    }

    public ApiConfig withClientAddressHeader(String h) {
        return new ApiConfig(apiKeyTtl, sshProxyHost, sshProxyPort, limits, rateLimitPerKey, rateLimitPerAddress, aws, grace, queueLimits, backend,
                insecureSingleUser, fairShare, webhooks, h, allowedRegistries);
    }

    public ApiConfig withQueueLimits(QueueLimits q) {
        return new ApiConfig(apiKeyTtl, sshProxyHost, sshProxyPort, limits, rateLimitPerKey, rateLimitPerAddress, aws, grace, q, backend,
                insecureSingleUser, fairShare, webhooks, clientAddressHeader, allowedRegistries);
    }

    /** The backend as configured (until a processor publishes what it is), and whether everyone may reserve regardless. */
    public ApiConfig withBackend(BackendTraits traits, boolean insecure) {
        return new ApiConfig(apiKeyTtl, sshProxyHost, sshProxyPort, limits, rateLimitPerKey, rateLimitPerAddress, aws, grace, queueLimits, traits,
                insecure, fairShare, webhooks, clientAddressHeader, allowedRegistries);
    }

    public ApiConfig withFairShare(FairShare.Policy f) {
        return new ApiConfig(apiKeyTtl, sshProxyHost, sshProxyPort, limits, rateLimitPerKey, rateLimitPerAddress, aws, grace, queueLimits, backend,
                insecureSingleUser, f, webhooks, clientAddressHeader, allowedRegistries);
    }

    public ApiConfig withWebhooks(dev.gpudev.core.WebhookPolicy w) {
        return new ApiConfig(apiKeyTtl, sshProxyHost, sshProxyPort, limits, rateLimitPerKey, rateLimitPerAddress, aws, grace, queueLimits, backend,
                insecureSingleUser, fairShare, w, clientAddressHeader, allowedRegistries);
    }

    /** Where images may come from (registries, and folders of local layouts); empty: any registry. */
    public ApiConfig withAllowedRegistries(List<String> allowed) {
        return new ApiConfig(apiKeyTtl, sshProxyHost, sshProxyPort, limits, rateLimitPerKey, rateLimitPerAddress, aws, grace, queueLimits, backend,
                insecureSingleUser, fairShare, webhooks, clientAddressHeader, allowed);
    }

    /** Why only admins may reserve on this backend, or null when anyone may. */
    public String adminOnly(BackendTraits traits) {
        return traits.isolates() || insecureSingleUser ? null
                : "this server cannot isolate environments (bubblewrap is not installed), so only its admin may reserve:"
                + " install bubblewrap, or start the server with --insecure-single-user if you are its only user";
    }

    /** Who logs in to an environment: the platform's user of that name, unless environments have one user of their own. */
    public String environmentUser(BackendTraits traits, String username) {
        return traits.loginUser() != null ? traits.loginUser() : username;
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

    private static final Pattern TTL = Pattern.compile("(\\d{1,6})\\s*(m|min|minutes?|h|hours?|d|days?)?");

    /**
     * A key's lifetime from the environment: API_KEY_TTL ("30m", "8h", "2d"; a bare number is hours), else
     * API_KEY_TTL_HOURS, else 2 hours. Checked at once: a server with a bad setting does not start.
     */
    public static Duration ttlFromEnvironment(Map<String, String> env) {
        String v = env.get("API_KEY_TTL");
        String name = "API_KEY_TTL";
        if (v == null || v.isBlank()) {
            v = env.get("API_KEY_TTL_HOURS");
            name = "API_KEY_TTL_HOURS";
        }
        if (v == null || v.isBlank()) {
            return Duration.ofHours(2);
        }
        var m = TTL.matcher(v.trim().toLowerCase(java.util.Locale.ROOT));
        if (!m.matches() || (name.equals("API_KEY_TTL_HOURS") && m.group(2) != null)) {
            throw new IllegalArgumentException(name + " must be a duration like 30m, 8h or 2d (a bare number is hours), not '"
                    + dev.gpudev.core.Names.shown(v) + "'");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "h" : m.group(2).substring(0, 1);
        Duration d = switch (unit) {
            case "m" -> Duration.ofMinutes(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofHours(n);
        };
        if (d.compareTo(MIN_TTL) < 0 || d.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException(name + " must be 5 minutes to 7 days, not '" + v.trim() + "'");
        }
        return d;
    }
}
