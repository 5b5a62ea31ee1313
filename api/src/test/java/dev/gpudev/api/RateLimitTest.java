package dev.gpudev.api;

import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuCatalog;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.AuditLog;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
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
    @Test
    void aClientOverItsRateGets429WithRetryAfter() throws Exception {
        try (Database db = TestDatabase.fresh()) {
            Pgmq pgmq = new Pgmq();
            CommandQueue q = new CommandQueue(pgmq, "rl_q");
            q.ensureQueue(db);
            var api = new ApiServer(ApiFixture.parts(db, pgmq, q, new Capacity(List.of()), Clock.systemUTC(),
                    new ApiConfig(2, "127.0.0.1", 2222, 0, 0.5, 0.5, ApiFixture.LOCAL_STS))).start("127.0.0.1", 0);
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
}
