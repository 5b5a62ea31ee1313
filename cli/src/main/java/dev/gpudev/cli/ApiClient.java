package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small JSON client of the gpudev API; API errors become one-line CLI errors. */
final class ApiClient {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String baseUrl;
    private volatile String apiKey;
    private java.util.function.Supplier<String> relogin;

    ApiClient(String baseUrl, String apiKey) {
        this.baseUrl = baseUrl;
        this.apiKey = apiKey;
    }

    /** On a 401 or 403 for the key, get a new key this way and retry the request once. */
    ApiClient onUnauthorized(java.util.function.Supplier<String> relogin) {
        this.relogin = relogin;
        return this;
    }

    JsonNode get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    JsonNode post(String path, Object body) {
        try {
            String json = body == null ? "{}" : Settings.JSON.writeValueAsString(body);
            return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(json)));
        } catch (IOException e) {
            throw new CliException(1, e.getMessage());
        }
    }

    /** A request without a body, for the methods get and post do not cover. */
    record Request(String method, String path) {
    }

    JsonNode send(Request r) {
        return send(HttpRequest.newBuilder(uri(r.path())).method(r.method(), HttpRequest.BodyPublishers.noBody()));
    }

    private URI uri(String path) {
        try {
            return URI.create(baseUrl + path);
        } catch (IllegalArgumentException e) {
            throw new CliException(2, "bad API URL " + baseUrl);
        }
    }

    private JsonNode send(HttpRequest.Builder b) {
        try {
            return sendOnce(b.copy());
        } catch (KeyRejected rejected) {
            if (relogin == null) {
                throw new CliException(2, rejected.getMessage());
            }
            apiKey = relogin.get();
            relogin = null;
            try {
                return sendOnce(b.copy());
            } catch (KeyRejected again) {
                throw new CliException(2, again.getMessage());
            }
        }
    }

    /** The server refused the key itself (unknown, expired, revoked). */
    private static final class KeyRejected extends RuntimeException {
        KeyRejected(String message) {
            super(message);
        }
    }

    private JsonNode sendOnce(HttpRequest.Builder b) {
        if (apiKey != null) {
            b.setHeader("Authorization", "Bearer " + apiKey);
        }
        b.timeout(Duration.ofSeconds(30));
        HttpResponse<String> res;
        try {
            res = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new CliException(1, "cannot reach the gpudev API at " + baseUrl
                    + ": is the server running? (set --api-url or GPU_DEV_API_URL)");
        } catch (IOException e) {
            throw new CliException(1, "request to " + baseUrl + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(1, "interrupted");
        }
        JsonNode body = null;
        if (!res.body().isBlank()) {
            try {
                body = Settings.JSON.readTree(res.body());
            } catch (IOException e) {
                throw new CliException(1, "the API answered " + res.statusCode() + " with something that is not JSON");
            }
        }
        if (res.statusCode() >= 400) {
            String msg = body != null && body.hasNonNull("message") ? body.get("message").asText() : "HTTP " + res.statusCode();
            if (res.statusCode() == 401 || res.statusCode() == 403) {
                // Logging in again helps only when the key itself was refused; a 403 for what the key may do is said as it is.
                boolean keyRefused = res.statusCode() == 401 || msg.contains("expired") || msg.contains("revoked") || msg.contains("disabled");
                if (keyRefused) {
                    msg = msg + (msg.contains("login") ? "" : " (run `gpu-dev login`)");
                }
                if (apiKey != null && keyRefused) {
                    throw new KeyRejected(msg);
                }
            }
            throw new CliException(res.statusCode() >= 500 ? 1 : 2, msg);
        }
        return body;
    }
}
