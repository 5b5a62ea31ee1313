package dev.gpudev.api;

import dev.gpudev.core.Capacity;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RateLimitTest {
    /** An API with these rates on its own command queue (no capacity: nothing here reserves). */
    private static ApiServer api(Database db, String queue, double perKey, double perAddress) {
        Pgmq pgmq = new Pgmq();
        CommandQueue q = new CommandQueue(pgmq, queue);
        q.ensureQueue(db);
        return new ApiServer(ApiFixture.parts(db, pgmq, q, new Capacity(List.of()), Clock.systemUTC(),
                new ApiConfig(2, "127.0.0.1", 2222, 0, perKey, perAddress, ApiFixture.LOCAL_STS))).start("127.0.0.1", 0);
    }

    @Test
    void behindCloudFrontEachViewerHasItsOwnBucketAndTheHeaderIsTrustedOnlyWhenSaidSo() throws Exception {
        try (Database db = TestDatabase.fresh()) {
            Pgmq pgmq = new Pgmq();
            CommandQueue q = new CommandQueue(pgmq, "rl_cf");
            q.ensureQueue(db);
            var trusting = new ApiServer(ApiFixture.parts(db, pgmq, q, new Capacity(List.of()), Clock.systemUTC(),
                    new ApiConfig(2, "127.0.0.1", 2222, 0, 100, 0.5, ApiFixture.LOCAL_STS).withClientAddressHeader("CloudFront-Viewer-Address")))
                    .start("127.0.0.1", 0);
            var plain = api(db, "rl_cf2", 100, 0.5);
            HttpClient http = HttpClient.newHttpClient();
            try {
                java.util.function.BiFunction<ApiServer, String, Integer> get = (api, viewer) -> {
                    try {
                        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/health"))
                                .header("CloudFront-Viewer-Address", viewer).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                };
                assertEquals(200, get.apply(trusting, "203.0.113.9:52341"));
                assertEquals(429, get.apply(trusting, "203.0.113.9:52342"), "the same viewer, another port: its bucket");
                assertEquals(200, get.apply(trusting, "[2001:db8::7]:443"), "another viewer: a bucket of its own");
                assertEquals(429, get.apply(trusting, "2001:db8::99:50000"), "CloudFront's IPv6 form, another port and host of that /64:"
                        + " the same client");
                assertEquals("2001:db8:0:0::/64", RequestAttributes.address("2001:db8::7"));
                assertEquals("203.0.113.9", RequestAttributes.address("203.0.113.9"));
                assertEquals(null, RequestAttributes.address("example.com"), "never a name (and never looked up)");
                assertEquals(200, get.apply(plain, "203.0.113.9:1"));
                assertEquals(429, get.apply(plain, "198.51.100.1:1"), "not trusted unless configured: one peer, one bucket");
            } finally {
                trusting.close();
                plain.close();
            }
        }
    }

    @Test
    void aClientOverItsRateGets429WithRetryAfter() throws Exception {
        try (Database db = TestDatabase.fresh()) {
            var api = api(db, "rl_q", 0.5, 0.5);
            try {
                HttpClient http = HttpClient.newHttpClient();
                int[] statuses = new int[3];
                HttpResponse<String> last = null;
                for (int i = 0; i < 3; i++) {
                    last = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/health")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    statuses[i] = last.statusCode();
                }
                assertEquals(200, statuses[0]);
                assertEquals(429, statuses[2], "a burst of 1 at 0.5 per second");
                assertTrue(Integer.parseInt(last.headers().firstValue("Retry-After").orElseThrow()) >= 1);
                assertTrue(last.body().contains("\"error\":\"rate_limited\""), last.body());
            } finally {
                api.close();
            }
        }
    }

    @Test
    void anAnonymousFloodNeverThrottlesALoggedInUserNorDoMadeUpKeys() throws Exception {
        try (Database db = TestDatabase.fresh()) {
            String token = dev.gpudev.core.Tokens.newSecret();
            db.inTransaction(c -> {
                new Users().createInvite(c, dev.gpudev.core.Tokens.sha256Hex(token), "root", true, false, null, null);
                return null;
            });
            var api = api(db, "rl_q2", 50, 2);
            String base = "http://127.0.0.1:" + api.port();
            HttpClient http = HttpClient.newHttpClient();
            try {
                String key = dev.gpudev.store.Json.MAPPER.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/v1/auth/token-login"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"" + token + "\"}"))
                        .build(), HttpResponse.BodyHandlers.ofString()).body()).get("api_key").asText();
                // 8 threads of anonymous requests, and of made-up keys, from the same address as the user
                var stop = new java.util.concurrent.atomic.AtomicBoolean();
                var flooded = new java.util.concurrent.atomic.AtomicInteger();
                List<Thread> flood = new java.util.ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int n = t;
                    flood.add(Thread.ofPlatform().start(() -> {
                        while (!stop.get()) {
                            var b = HttpRequest.newBuilder(URI.create(base + "/v1/jobs"));
                            if (n % 2 == 1) {
                                b.header("Authorization", "Bearer made-up-" + System.nanoTime());
                            }
                            try {
                                if (http.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 429) {
                                    flooded.incrementAndGet();
                                }
                            } catch (Exception e) {
                                return;
                            }
                        }
                    }));
                }
                try {
                    long deadline = System.nanoTime() + 3_000_000_000L;
                    while (flooded.get() < 50 && System.nanoTime() < deadline) {
                        Thread.sleep(10);
                    }
                    assertTrue(flooded.get() >= 50, "the flood is being throttled: " + flooded.get());
                    for (int i = 0; i < 20; i++) {
                        var r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/jobs")).header("Authorization", "Bearer " + key).build(),
                                HttpResponse.BodyHandlers.ofString());
                        assertEquals(200, r.statusCode(), "request " + i + " of the logged-in user: " + r.body());
                    }
                } finally {
                    stop.set(true);
                    for (Thread t : flood) {
                        t.join();
                    }
                }
            } finally {
                api.close();
            }
        }
    }

    @Test
    void healthSaysWhichPartIsMissingWithA503NeverA500() throws Exception {
        try (Database db = TestDatabase.fresh()) {
            var api = api(db, "health_q", 1000, 1000);
            try {
                HttpClient http = HttpClient.newHttpClient();
                var health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/health")).build();
                assertEquals(200, http.send(health, HttpResponse.BodyHandlers.ofString()).statusCode());
                db.query(c -> {
                    try (var st = c.createStatement()) {
                        st.execute("select pgmq.drop_queue('health_q')");
                    }
                    return null;
                });
                var r = http.send(health, HttpResponse.BodyHandlers.ofString());
                assertEquals(503, r.statusCode(), r.body());
                assertTrue(r.body().contains("the command queue cannot be read"), r.body());
                assertTrue(r.body().contains("\"database\":\"ok\""), r.body());
            } finally {
                api.close();
            }
        }
    }

    @Test
    void credentialsNobodyChecksAndMadeUpSessionsPayTheAddressesBucket() throws Exception {
        try (Database db = TestDatabase.fresh()) {
            var api = api(db, "rl_q3", 50, 1);
            try {
                HttpClient http = HttpClient.newHttpClient();
                String base = "http://127.0.0.1:" + api.port();
                int limited = 0;
                for (int i = 0; i < 10; i++) {
                    // an open route with a key header nobody checks there
                    var r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/auth/token-login")).header("X-API-Key", "x" + i)
                            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"nope\"}"))
                            .build(), HttpResponse.BodyHandlers.ofString());
                    limited += r.statusCode() == 429 ? 1 : 0;
                }
                assertTrue(limited >= 5, "a key header does not buy a way around the address's bucket: " + limited);
                Thread.sleep(3000); // the bucket fills again (1 a second, 2 at most)
                limited = 0;
                for (int i = 0; i < 10; i++) {
                    var r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/jobs")).header("Cookie", "gpudev_session=made-up-" + i)
                            .build(), HttpResponse.BodyHandlers.ofString());
                    limited += r.statusCode() == 429 ? 1 : 0;
                }
                assertTrue(limited >= 5, "made-up dashboard sessions pay the address's bucket: " + limited);
            } finally {
                api.close();
            }
        }
    }
}
