package dev.gpudev.api;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keys checked a moment ago are believed without asking the database again, but never after they stop
 * being valid: a revocation on one replica reaches the others when it commits (LISTEN/NOTIFY), well
 * before the cache's own 10 seconds; the replica that revoked refuses at once; expiry is checked on every
 * request.
 */
class VerifiedKeysTest {
    static ApiFixture f;
    static ApiServer second;
    static String secondBase;
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void setUp() {
        f = new ApiFixture();
        second = new ApiServer(ApiFixture.parts(f.db, f.pgmq, f.commands,
                new dev.gpudev.core.Capacity(java.util.List.of(new dev.gpudev.core.Capacity.Node("n0", "h100",
                        java.util.List.of(0, 1, 2, 3, 4, 5, 6, 7), true))), f.clock,
                new ApiConfig(2, "127.0.0.1", 2222, 0, 100_000, 100_000, ApiFixture.LOCAL_STS))).start("127.0.0.1", 0);
        secondBase = "http://127.0.0.1:" + second.port();
    }

    @AfterAll
    static void tearDown() {
        second.close();
        f.close();
    }

    int statusOnSecond(String key) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(secondBase + "/v1/jobs")).header("Authorization", "Bearer " + key).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void aKeyRevokedOnOneReplicaIsRefusedByTheOthersBeforeTheCacheWouldForgetIt() throws Exception {
        String key = f.newUser("cached-elsewhere");
        assertEquals(200, statusOnSecond(key));
        assertEquals(200, statusOnSecond(key)); // now believed from the second replica's cache
        long keyId = f.call("GET", "/v1/keys", key, null).body().get("keys").get(0).get("key_id").asLong();
        Instant revoked = Instant.now();
        assertEquals(204, f.call("DELETE", "/v1/keys/" + keyId, f.admin(), null).status());
        assertEquals(403, f.call("GET", "/v1/jobs", key, null).status(), "the replica that revoked refuses at once");
        while (statusOnSecond(key) == 200) {
            assertTrue(Duration.between(revoked, Instant.now()).compareTo(VerifiedKeys.TTL.dividedBy(2)) < 0,
                    "the other replica still believes a revoked key: the announcement did not reach it");
            Thread.sleep(20);
        }
        assertEquals(403, statusOnSecond(key));
    }

    @Test
    void aCachedKeyIsRefusedTheMomentItExpires() throws Exception {
        String key = f.newUser("cached-expiring");
        assertEquals(200, f.call("GET", "/v1/jobs", key, null).status());
        f.clock.advance(Duration.ofHours(2).plusSeconds(1)); // keys live 2 hours here
        try {
            var r = f.call("GET", "/v1/jobs", key, null);
            assertEquals(403, r.status());
            assertTrue(r.raw().contains("expired"), r.raw());
        } finally {
            f.clock.advance(Duration.ofHours(-2).minusSeconds(1));
        }
    }

    @Test
    void rotatingWithRevokeOldEndsTheOldKeyAtOnce() throws Exception {
        String key = f.newUser("cached-rotating");
        assertEquals(200, f.call("GET", "/v1/jobs", key, null).status());
        String fresh = f.call("POST", "/v1/keys/rotate", key, "{\"revoke_old\":true}").body().get("api_key").asText();
        assertEquals(403, f.call("GET", "/v1/jobs", key, null).status());
        assertEquals(200, f.call("GET", "/v1/jobs", fresh, null).status());
    }
}
