package dev.gpudev.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** A small JSON client of the gpudev API over {@link Http}; API errors become one-line CLI errors. */
final class ApiClient {
    private final String baseUrl;
    private final Http http;
    private volatile String apiKey;
    private java.util.function.Supplier<String> relogin;

    ApiClient(String baseUrl, String apiKey) {
        this(baseUrl, apiKey, Http.standard());
    }

    ApiClient(String baseUrl, String apiKey, Http http) {
        this.baseUrl = baseUrl;
        this.apiKey = apiKey;
        this.http = http;
    }

    /** On a 401 or 403 for the key, get a new key this way and retry the request once. */
    ApiClient onUnauthorized(java.util.function.Supplier<String> relogin) {
        this.relogin = relogin;
        return this;
    }

    JsonNode get(String path) {
        return send("GET", path, null);
    }

    JsonNode post(String path, Object body) {
        String json = body == null ? "{}" : Json.write(body);
        return send("POST", path, json.getBytes(StandardCharsets.UTF_8));
    }

    /** PUT of raw bytes (a build's context). */
    JsonNode put(String path, byte[] bytes) {
        return send("PUT", path, bytes);
    }

    /** A request without a body, for the methods get and post do not cover. */
    record Request(String method, String path) {
    }

    JsonNode send(Request r) {
        return send(r.method(), r.path(), null);
    }

    /** The API's base URL, checked: http or https, a host. */
    private URI base(String path) {
        try {
            URI full = URI.create(baseUrl + path);
            URI base = URI.create(baseUrl);
            if (!"http".equals(base.getScheme()) && !"https".equals(base.getScheme()) || base.getHost() == null || full.getHost() == null) {
                throw new IllegalArgumentException("not http(s)");
            }
            return base;
        } catch (IllegalArgumentException e) {
            throw new CliException(2, "bad API URL " + baseUrl);
        }
    }

    private JsonNode send(String method, String path, byte[] body) {
        try {
            return sendOnce(method, path, body);
        } catch (KeyRejected rejected) {
            if (relogin == null) {
                throw new CliException(2, rejected.getMessage());
            }
            apiKey = relogin.get();
            relogin = null;
            try {
                return sendOnce(method, path, body);
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

    private JsonNode sendOnce(String method, String path, byte[] body) {
        URI base = base(path);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Accept", "application/json");
        if (apiKey != null) {
            headers.put("Authorization", "Bearer " + apiKey);
        }
        if (body != null) {
            headers.put("Content-Type", "PUT".equals(method) ? "application/gzip" : "application/json");
        }
        Http.Response res;
        try {
            res = http.exchange(base, method, path, headers, body);
        } catch (ConnectException | NoRouteToHostException e) {
            throw new CliException(1, "cannot reach the gpudev API at " + baseUrl
                    + ": is the server running? (set --api-url or GPU_DEV_API_URL)");
        } catch (UnknownHostException e) {
            throw new CliException(1, "cannot reach the gpudev API at " + baseUrl + ": unknown host " + base.getHost());
        } catch (IOException e) {
            throw new CliException(1, "request to " + baseUrl + " failed: " + e.getMessage());
        }
        int status = res.status();
        String text = res.body();
        JsonNode json = null;
        if (!text.isBlank()) {
            try {
                json = Json.parse(text);
            } catch (IOException e) {
                if (status >= 500) {
                    throw new CliException(1, unexplained(status)); // a proxy's or load balancer's page in front of the API
                }
                throw new CliException(1, "the API answered " + status + " with something that is not JSON");
            }
        }
        if (status >= 400) {
            String msg = json != null && json.hasNonNull("message") ? json.get("message").asText() : unexplained(status);
            if (status == 401 || status == 403) {
                // Logging in again helps only when the key itself was refused; a 403 for what the key may do is said as it is.
                boolean keyRefused = status == 401 || msg.contains("expired") || msg.contains("revoked") || msg.contains("disabled");
                if (keyRefused) {
                    msg = msg + (msg.contains("login") ? "" : " (run `gpu-dev login`)");
                }
                if (apiKey != null && keyRefused) {
                    throw new KeyRejected(msg);
                }
            }
            throw new CliException(status >= 500 ? 1 : 2, msg);
        }
        return json;
    }

    /** An error the API gave no words for (a proxy in front of it, a restart): what it means, and what to do. */
    private String unexplained(int status) {
        return switch (status) {
            case 502, 503, 504 -> "the gpudev API at " + baseUrl + " is unavailable right now (HTTP " + status
                    + "); this is usually brief (a restart, the database reconnecting): try again in a moment";
            case 429 -> "too many requests (HTTP 429): wait a moment and try again";
            default -> status >= 500 ? "the gpudev API at " + baseUrl + " failed (HTTP " + status + "); try again, and tell your admin if it persists"
                    : "the API refused the request (HTTP " + status + ")";
        };
    }
}
