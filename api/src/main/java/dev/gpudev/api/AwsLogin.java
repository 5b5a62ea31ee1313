package dev.gpudev.api;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.StsException;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Who an AWS caller is, asked of STS (GetCallerIdentity). Two forms: the caller's credentials (the
 * server asks STS with them), or a GetCallerIdentity request the CLI signed itself, which the server
 * sends on to its own STS endpoint so that no secret key leaves the laptop (as Vault's AWS auth and
 * the EKS IAM authenticator do). The caller must be an assumed role named by ALLOWED_AWS_ROLE.
 */
final class AwsLogin {
    static final String GET_CALLER_IDENTITY = "Action=GetCallerIdentity&Version=2011-06-15";
    private static final Set<String> FORWARDED_HEADERS = Set.of("authorization", "x-amz-date", "x-amz-security-token",
            "x-amz-content-sha256", "content-type");
    private static final Pattern ASSUMED_ROLE = Pattern.compile("^arn:aws[a-z-]*:sts::(\\d{12}):assumed-role/([^/]+)/(.+)$");

    /**
     * Where STS is (AWS_ENDPOINT_URL_STS, else the region's), which role may log in (ALLOWED_AWS_ROLE) and
     * from which accounts (ALLOWED_AWS_ACCOUNTS, comma-separated ids: AWS login is off until it is set,
     * since a role's name alone is anyone's to create in an account of their own).
     */
    record Settings(String allowedRole, String region, URI stsEndpoint, java.util.Set<String> allowedAccounts) {
        Settings {
            allowedAccounts = java.util.Set.copyOf(allowedAccounts);
        }

        static Settings fromEnvironment() {
            String region = env("AWS_REGION", env("AWS_DEFAULT_REGION", "us-east-1"));
            String endpoint = env("AWS_ENDPOINT_URL_STS", env("AWS_ENDPOINT_URL", "https://sts." + region + ".amazonaws.com"));
            return new Settings(env("ALLOWED_AWS_ROLE", "SSOCloudDevGpuReservation"), region, URI.create(endpoint),
                    accounts(env("ALLOWED_AWS_ACCOUNTS", "")));
        }

        static java.util.Set<String> accounts(String list) {
            java.util.Set<String> out = new java.util.TreeSet<>();
            for (String a : list.split(",")) {
                if (!a.isBlank()) {
                    if (!a.trim().matches("\\d{12}")) {
                        throw new IllegalArgumentException("ALLOWED_AWS_ACCOUNTS holds 12-digit account ids, not '" + a.trim() + "'");
                    }
                    out.add(a.trim());
                }
            }
            return out;
        }

        boolean enabled() {
            return !allowedAccounts.isEmpty();
        }

        private static String env(String name, String dflt) {
            String v = System.getenv(name);
            return v == null || v.isBlank() ? dflt : v.trim();
        }
    }

    /** A verified caller: the username is the role session name, cleaned. */
    record Identity(String arn, String account, String username) {
    }

    private final Settings settings;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    AwsLogin(Settings settings) {
        this.settings = settings;
    }

    Identity withCredentials(String accessKeyId, String secretKey, String sessionToken) {
        AwsCredentials creds = sessionToken == null ? AwsBasicCredentials.create(accessKeyId, secretKey)
                : AwsSessionCredentials.create(accessKeyId, secretKey, sessionToken);
        try (StsClient sts = StsClient.builder()
                .credentialsProvider(StaticCredentialsProvider.create(creds))
                .region(Region.of(settings.region()))
                .endpointOverride(settings.stsEndpoint())
                .httpClient(UrlConnectionHttpClient.builder().connectionTimeout(Duration.ofSeconds(5))
                        .socketTimeout(Duration.ofSeconds(10)).build())
                .build()) {
            return identity(sts.getCallerIdentity().arn());
        } catch (StsException e) {
            if (e.statusCode() >= 500) {
                throw unavailable();
            }
            throw ApiError.unauthorized("AWS rejected these credentials (" + e.awsErrorDetails().errorCode() + "): refresh them, e.g. `aws sso login`");
        } catch (SdkClientException e) {
            throw unavailable();
        }
    }

    /** Sends a GetCallerIdentity request that the caller signed to our own STS endpoint, never elsewhere. */
    Identity withSignedRequest(String url, Map<String, String> headers, String body) {
        URI target;
        try {
            target = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("sts_request.url is not a URL");
        }
        URI own = settings.stsEndpoint();
        if (!sameOrigin(target, own)) {
            throw ApiError.badRequest("sts_request must be signed for this server's STS endpoint " + own
                    + " (set AWS_ENDPOINT_URL_STS / AWS_REGION on the client to match)");
        }
        if (!GET_CALLER_IDENTITY.equals(body)) {
            throw ApiError.badRequest("sts_request.body must be exactly " + GET_CALLER_IDENTITY);
        }
        HttpRequest.Builder b = HttpRequest.newBuilder(own.resolve("/")).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        boolean signed = false;
        for (var e : headers.entrySet()) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            if (FORWARDED_HEADERS.contains(name) && e.getValue() != null && e.getValue().length() < 8192 && !e.getValue().contains("\n")) {
                b.header(e.getKey(), e.getValue());
                signed |= name.equals("authorization");
            }
        }
        if (!signed) {
            throw ApiError.badRequest("sts_request.headers must carry the SigV4 Authorization header");
        }
        HttpResponse<String> res;
        try {
            res = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw unavailable();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable();
        }
        if (res.statusCode() >= 500) {
            throw unavailable();
        }
        if (res.statusCode() != 200) {
            throw ApiError.unauthorized("AWS rejected the signed request: refresh your credentials, e.g. `aws sso login`");
        }
        var m = Pattern.compile("<Arn>([^<]+)</Arn>").matcher(res.body());
        if (!m.find()) {
            throw unavailable();
        }
        return identity(m.group(1));
    }

    /**
     * Checks the account and the role; the username is the session name, lowercased, with anything
     * outside [a-z0-9._-] replaced by '_', which must then be a name (Names): else it is refused.
     */
    Identity identity(String arn) {
        var m = ASSUMED_ROLE.matcher(arn);
        if (!m.matches()) {
            throw ApiError.forbidden("only the assumed role " + settings.allowedRole() + " may log in, not " + ApiError.shown(arn));
        }
        if (!settings.allowedAccounts().contains(m.group(1))) {
            throw ApiError.forbidden("AWS account " + m.group(1) + " may not log in here (ALLOWED_AWS_ACCOUNTS)");
        }
        if (!m.group(2).equals(settings.allowedRole())) {
            throw ApiError.forbidden("role " + ApiError.shown(m.group(2)) + " may not log in: assume " + settings.allowedRole());
        }
        String username = m.group(3).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "_");
        if (!dev.gpudev.core.Names.valid(username)) {
            throw ApiError.forbidden("the role session name '" + ApiError.shown(m.group(3)) + "' does not make a username"
                    + " (1-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit): use your email as the session name");
        }
        return new Identity(arn, m.group(1), username);
    }

    void requireEnabled() {
        if (!settings.enabled()) {
            throw new ApiError(403, "aws_login_disabled", "AWS login is off on this server: an admin enables it with"
                    + " ALLOWED_AWS_ACCOUNTS; until then log in with a token from an admin");
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost() != null
                && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b)
                && (a.getPath() == null || a.getPath().isEmpty() || a.getPath().equals("/")) && a.getQuery() == null;
    }

    private static int port(URI u) {
        return u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    private static ApiError unavailable() {
        return new ApiError(503, "sts_unavailable", "AWS STS could not be reached to check who you are; try again shortly");
    }
}
