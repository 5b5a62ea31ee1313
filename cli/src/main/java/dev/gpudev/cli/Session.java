package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Who this CLI is to the API: the credentials (one place writes them), the API URL they go to, and a
 * client that keeps the key fresh (rotated before it expires; an AWS login logs in again once when the
 * key is refused).
 */
final class Session {
    private final Settings settings;

    Session(Settings settings) {
        this.settings = settings;
    }

    /** The API URL in use: see {@link Settings#apiUrl()} for the order of sources. */
    String apiUrl() {
        return settings.apiUrl().url();
    }

    ObjectNode credentials() {
        ObjectNode c = settings.credentials();
        if (c == null || !c.hasNonNull("api_key")) {
            throw new CliException(2, "not logged in: run `gpu-dev login --token-file <data-dir>/admin-token` "
                    + "or ask an admin for `gpu-dev admin invite`");
        }
        return c;
    }

    ApiClient api() {
        ObjectNode c = credentials();
        String url = apiUrl();
        ApiClient client = new ApiClient(url, c.get("api_key").asText());
        if ("aws".equals(c.path("login").asText())) {
            // An expired or revoked key is replaced by a fresh AWS login, once, and the request retried.
            client = client.onUnauthorized(() -> {
                JsonNode fresh = new ApiClient(url, null).post("/v1/auth/aws-login", AwsSignedLogin.request(settings.env()));
                return saveKey(c, fresh);
            });
        }
        Instant expires = c.hasNonNull("expires_at") ? Instant.parse(c.get("expires_at").asText()) : null;
        if (expires != null && expires.isAfter(Instant.now()) && expires.isBefore(Instant.now().plus(Duration.ofMinutes(15)))) {
            client = rotate(client, false);
        }
        return client;
    }

    /** A new key for the same user, saved; the old one revoked when asked. */
    ApiClient rotate(ApiClient client, boolean revokeOld) {
        ObjectNode c = credentials();
        JsonNode fresh = client.post("/v1/keys/rotate", Map.of("revoke_old", revokeOld));
        return new ApiClient(apiUrl(), saveKey(c, fresh));
    }

    ApiClient rotate(boolean revokeOld) {
        ObjectNode c = credentials();
        return rotate(new ApiClient(apiUrl(), c.get("api_key").asText()), revokeOld);
    }

    private String saveKey(ObjectNode c, JsonNode issued) {
        c.put("api_key", issued.get("api_key").asText());
        c.put("expires_at", issued.get("expires_at").asText());
        settings.saveCredentials(c);
        return issued.get("api_key").asText();
    }

    /** After a login: the key, who it is, where, and how to connect; the one place that writes fresh credentials. */
    void saveLogin(String url, JsonNode login, String sshIdentity, boolean aws) {
        ObjectNode creds = Json.object();
        creds.put("api_url", url);
        creds.put("api_key", login.get("api_key").asText());
        creds.put("username", login.get("username").asText());
        creds.put("expires_at", login.get("expires_at").asText());
        creds.put("ssh_identity", sshIdentity);
        creds.put("login", aws ? "aws" : "token");
        settings.saveCredentials(creds);
    }
}
