package dev.gpudev.api;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What an anonymous client may not do to the API: exhaust it, crash a handler, or get an HTML page. */
class HttpLimitsTest {
    static ApiFixture f;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        f = new ApiFixture();
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    HttpResponse<String> post(String path, HttpRequest.BodyPublisher body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(f.base + path)).header("Content-Type", "application/json").POST(body).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aChunkedBodyPastTheLimitIs413AndThreeAtOnceDoNoHarm() throws Exception {
        var publishers = new java.util.ArrayList<java.util.concurrent.CompletableFuture<HttpResponse<String>>>();
        for (int i = 0; i < 3; i++) {
            // No Content-Length: an endless stream of 200 MB, chunked, at a login that needs no key.
            InputStream endless = new InputStream() {
                long left = 200L * 1024 * 1024;

                @Override
                public int read() {
                    return left-- > 0 ? '[' : -1;
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    if (left <= 0) {
                        return -1;
                    }
                    int n = (int) Math.min(len, left);
                    java.util.Arrays.fill(b, off, off + n, (byte) '[');
                    left -= n;
                    return n;
                }
            };
            publishers.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(f.base + "/v1/auth/token-login"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofInputStream(() -> endless)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (var p : publishers) {
            HttpResponse<String> r;
            try {
                r = p.get(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException closed) {
                continue; // the server may close the connection after its answer while the client still sends
            }
            assertEquals(413, r.statusCode(), r.body());
            assertTrue(r.body().startsWith("{\"error\":\"payload_too_large\""), r.body());
        }
        assertEquals(200, f.call("GET", "/health", null, null).status(), "and it still answers");
    }

    @Test
    void numbersOfAbsurdPrecisionOrExponentAreRefusedWithoutBeingEchoed() throws Exception {
        String key = f.newUser("numbers");
        for (String n : java.util.List.of("1e-999999999", "1e999999999", "1e-2147483648", "0.0000000000000000000000000001")) {
            var r = f.call("POST", "/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":" + n + "}");
            assertEquals(400, r.status(), n + ": " + r.raw());
            assertTrue(r.raw().length() < 600, "not echoed: " + r.raw().length() + " characters");
        }
        var before = f.call("POST", "/v1/auth/token-login", null, "{\"token\":\"x\",\"y\":1e-2147483648}");
        assertEquals(400, before.status(), "before any login too: " + before.raw());
    }

    @Test
    void nulInStringsQueriesAndFiltersIs400() throws Exception {
        String admin = f.admin();
        String key = f.newUser("nul");
        assertEquals(400, f.call("POST", "/v1/admin/invites", admin, "{\"username\":\"a\\u0000b\"}").status());
        assertEquals(400, f.call("GET", "/v1/audit?username=a%00b", admin, null).status());
        assertEquals(400, f.call("GET", "/v1/audit?since=-999999999-01-01T00:00:00Z", admin, null).status());
        assertEquals(400, f.call("GET", "/v1/jobs?status=active%00", key, null).status());
        assertEquals(400, f.call("POST", "/v1/jobs/submit", key, "{\"gpu_type\":\"h100\\u0000\",\"gpu_count\":1,\"duration_hours\":1}").status());
    }

    @Test
    void deepNestingIsRefused() throws Exception {
        String key = f.newUser("nest");
        var r = f.call("POST", "/v1/jobs/submit", key, "{\"a\":".repeat(5000) + "1" + "}".repeat(5000));
        assertEquals(400, r.status(), r.raw());
    }

    /** Raw bytes to the server: what an HTTP client library would never send. */
    static String raw(String request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", f.api.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void errorsJettyAnswersItselfAreJsonToo() throws Exception {
        String tooLong = raw("GET /" + "a".repeat(70_000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(tooLong.startsWith("HTTP/1.1 414"), tooLong.lines().findFirst().orElse(""));
        assertTrue(tooLong.contains("{\"error\":\"uri_too_long\""), tooLong);
        String bigHeaders = raw("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(40_000) + "\r\nConnection: close\r\n\r\n");
        assertTrue(bigHeaders.startsWith("HTTP/1.1 431"), bigHeaders.lines().findFirst().orElse(""));
        assertTrue(bigHeaders.contains("{\"error\":\"headers_too_large\""), bigHeaders);
        String nul = raw("GET /v1/jobs/a\u0000b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(nul.startsWith("HTTP/1.1 400"), nul.lines().findFirst().orElse(""));
        assertTrue(nul.contains("{\"error\":"), nul);
        assertFalse(nul.contains("<html"), nul);
        String notFound = raw("GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(notFound.contains("{\"error\":\"not_found\",\"message\":\"no such endpoint: GET /nowhere\"}"), notFound);
    }

    @Test
    void aUserHoldsAtMostFiveLiveKeysTheOldestGoFirst() throws Exception {
        String first = f.newUser("keys");
        String latest = first;
        for (int i = 0; i < 6; i++) {
            latest = f.call("POST", "/v1/keys/rotate", latest, "{}").body().get("api_key").asText();
        }
        assertEquals(403, f.call("GET", "/v1/jobs", first, null).status(), "the oldest was revoked");
        assertEquals(200, f.call("GET", "/v1/jobs", latest, null).status());
        long live = f.call("GET", "/v1/keys", latest, null).body().get("keys").findValues("is_active").stream()
                .filter(com.fasterxml.jackson.databind.JsonNode::asBoolean).count();
        assertEquals(5, live);
    }

    @Test
    void everyTokenWorksOnceTheFirstAdminsToo() throws Exception {
        String token = dev.gpudev.core.Tokens.newSecret();
        f.db.inTransaction(c -> {
            new dev.gpudev.store.Users().createInvite(c, dev.gpudev.core.Tokens.sha256Hex(token), "boss", true, false, null, null);
            return null;
        });
        assertEquals(200, f.call("POST", "/v1/auth/token-login", null, "{\"token\":\"" + token + "\"}").status());
        var again = f.call("POST", "/v1/auth/token-login", null, "{\"token\":\"" + token + "\"}");
        assertEquals(401, again.status(), again.raw());
        assertTrue(again.raw().contains("admin-token"), "says how to get a new one: " + again.raw());
    }

    @Test
    void anIdempotencyKeyReusedForAnotherRequestIs422() throws Exception {
        String key = f.newUser("idem");
        var first = HTTP.send(HttpRequest.newBuilder(URI.create(f.base + "/v1/jobs/submit")).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + key).header("Idempotency-Key", "same")
                .POST(HttpRequest.BodyPublishers.ofString("{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, first.statusCode(), first.body());
        var other = HTTP.send(HttpRequest.newBuilder(URI.create(f.base + "/v1/jobs/submit")).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + key).header("Idempotency-Key", "same")
                .POST(HttpRequest.BodyPublishers.ofString("{\"gpu_type\":\"h100\",\"gpu_count\":2,\"duration_hours\":1}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(422, other.statusCode(), other.body());
    }

    @Test
    void aLargeDeclaredBodyIs413BeforeItIsRead() throws Exception {
        var r = post("/v1/auth/token-login", HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(new byte[100_000])));
        assertEquals(413, r.statusCode(), r.body());
    }
}
