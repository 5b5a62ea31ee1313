package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.QueueLimits;
import dev.gpudev.core.Tokens;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Json;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The waiting limits on by default: one user's burst cannot put everyone else's reservations months out. */
class QueueLimitsTest {
    private Database db;
    private ApiServer api;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() {
        db = TestDatabase.fresh();
        Pgmq pgmq = new Pgmq();
        CommandQueue q = new CommandQueue(pgmq, "ql_q");
        q.ensureQueue(db);
        // one machine of 8 GPUs: a day of it is 192 GPU-hours
        Capacity cap = new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true)));
        api = new ApiServer(ApiFixture.parts(db, pgmq, q, cap, Clock.systemUTC(),
                new ApiConfig(2, "127.0.0.1", 2222, 0, 100_000, 100_000, ApiFixture.LOCAL_STS).withQueueLimits(QueueLimits.defaults())
                        .withAllowedRegistries(List.of("nvcr.io", "/srv/images"))))
                .start("127.0.0.1", 0);
    }

    @AfterEach
    void stop() {
        api.close();
        db.close();
    }

    private String keyOf(String name) throws Exception {
        String token = Tokens.newSecret();
        db.inTransaction(c -> {
            new Users().createInvite(c, Tokens.sha256Hex(token), name, false, false, null, null);
            return null;
        });
        return post("/v1/auth/token-login", null, "{\"token\":\"" + token + "\"}").get("api_key").asText();
    }

    private int status;

    private JsonNode post(String path, String key, String body) throws Exception {
        var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        var r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        status = r.statusCode();
        return Json.MAPPER.readTree(r.body());
    }

    @Test
    void anImageFromARegistryTheAdminDidNotAllowIsRefusedAtSubmitAndNothingIsStored() throws Exception {
        String eve = keyOf("eve");
        JsonNode refused = post("/v1/jobs/submit", eve, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"image\":\"evil.example.com/x:1\"}");
        assertEquals(422, status, refused.toString());
        assertEquals("image_not_allowed", refused.path("error").asText(), refused.toString());
        assertEquals("images from evil.example.com are not allowed here; allowed: nvcr.io", refused.path("message").asText(), refused.toString());
        JsonNode hub = post("/v1/jobs/submit", eve, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"image\":\"ubuntu:24.04\"}");
        assertEquals(422, status, "Docker Hub is a registry like any other: " + hub);
        JsonNode path = post("/v1/jobs/submit", eve, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"image\":\"oci:/etc/../root/x:1\"}");
        assertEquals(422, status, path.toString());
        assertEquals(0L, (long) db.query(c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery("select count(*) from reservations")) {
                rs.next();
                return rs.getLong(1);
            }
        }), "nothing stored");
        JsonNode ok = post("/v1/jobs/submit", eve, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"image\":\"nvcr.io/nvidia/pytorch:24.10-py3\"}");
        assertEquals(201, status, ok.toString());
    }

    @Test
    void aDockerfilesFromIsCheckedAtSubmitLikeAnImageAndItsContextMustMatchItsHash(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String key = keyOf("dora");
        java.nio.file.Files.writeString(dir.resolve("Dockerfile"), "FROM evil.example.com/miner:1\nRUN true\n");
        Process tar = new ProcessBuilder("tar", "-czf", dir.resolve("ctx.tgz").toString(), "-C", dir.toString(), "Dockerfile").start();
        assertEquals(0, tar.waitFor());
        byte[] bytes = java.nio.file.Files.readAllBytes(dir.resolve("ctx.tgz"));
        String hash = "sha256:" + dev.gpudev.core.Tokens.sha256Hex(bytes);
        var put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/v1/builds/" + hash))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/gzip");
        var wrong = http.send(put.PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[]{1, 2, 3})).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, wrong.statusCode(), "bytes of another hash: " + wrong.body());
        var stored = http.send(put.PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, stored.statusCode(), stored.body());
        var anonymous = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/v1/builds/" + hash))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(401, anonymous.statusCode());
        JsonNode refused = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"build\":\"" + hash + "\"}");
        assertEquals(422, status, refused.toString());
        assertEquals("the Dockerfile's FROM evil.example.com/miner:1: images from evil.example.com are not allowed here; allowed: nvcr.io",
                refused.path("message").asText());
        JsonNode unknown = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"build\":\"sha256:"
                + "0".repeat(64) + "\"}");
        assertEquals(422, status, unknown.toString());
        assertEquals("unknown_build", unknown.path("error").asText());
    }

    @Test
    void oneUsersBurstOfWholeMachineDaysIsCappedAndAnotherUserStillGetsIn() throws Exception {
        String mallory = keyOf("mallory");
        String bob = keyOf("bob");
        int accepted = 0;
        JsonNode refusal = null;
        for (int i = 0; i < 300; i++) {
            JsonNode r = post("/v1/jobs/submit", mallory, "{\"gpu_type\":\"h100\",\"gpu_count\":8,\"duration_hours\":24}");
            if (status == 201) {
                accepted++;
            } else {
                assertEquals(429, status, r.toString());
                refusal = r;
                break;
            }
        }
        assertEquals(1, accepted, "a day of the whole machine waits at most (192 GPU-hours)");
        assertEquals("too_many_waiting", refusal.get("error").asText());
        assertTrue(refusal.get("message").asText().contains("at most 192"), refusal.toString());
        // Small ones: 10 reservations at most.
        String carol = keyOf("carol");
        for (int i = 0; i < 10; i++) {
            post("/v1/jobs/submit", carol, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}");
            assertEquals(201, status);
        }
        JsonNode eleventh = post("/v1/jobs/submit", carol, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}");
        assertEquals(429, status);
        assertTrue(eleventh.get("message").asText().contains("10 reservations waiting"), eleventh.toString());
        post("/v1/jobs/submit", bob, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}");
        assertEquals(201, status, "another user is not held by them");
        int queuedOfMallory = db.query(c -> new dev.gpudev.store.Reservations().queue().waitingOf(c,
                new Users().findByName(c, "mallory").orElseThrow().userId())).count();
        assertEquals(1, queuedOfMallory, "nothing past the limit was stored");
    }

    @Test
    void bookingsAheadAreCappedPerUser() throws Exception {
        String dave = keyOf("dave");
        java.time.Instant base = java.time.Instant.now().plus(java.time.Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.HOURS);
        for (int i = 0; i < 3; i++) {
            JsonNode r = post("/v1/jobs/submit", dave, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"start_at\":\""
                    + base.plus(java.time.Duration.ofHours(2L * i)) + "\"}");
            assertEquals(201, status, r.toString());
        }
        JsonNode fourth = post("/v1/jobs/submit", dave, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"start_at\":\""
                + base.plus(java.time.Duration.ofHours(10)) + "\"}");
        assertEquals(429, status);
        assertEquals("too_many_bookings", fourth.get("error").asText());
        post("/v1/jobs/submit", dave, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}");
        assertEquals(201, status, "a plain reservation is not a booking");
    }
}
