package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuCatalog;
import dev.gpudev.core.Tokens;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.AuditLog;
import dev.gpudev.store.CommandQueue;
import dev.gpudev.store.Database;
import dev.gpudev.store.Json;
import dev.gpudev.store.MutableClock;
import dev.gpudev.store.Pgmq;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.SshKeys;
import dev.gpudev.store.TestDatabase;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The API against a real database, over real HTTP. */
class ApiServerTest {
    static Database db;
    static ApiServer api;
    static MutableClock clock = new MutableClock(Instant.now());
    static HttpClient http = HttpClient.newHttpClient();
    static String base;
    static String adminToken = Tokens.newSecret();
    static final Pgmq pgmq = new Pgmq();
    static final CommandQueue commands = new CommandQueue(pgmq, "api_test_q");

    record Res(int status, JsonNode body) {
    }

    static int checked;
    static int checkedRequests;

    @BeforeAll
    static void start() {
        db = TestDatabase.fresh();
        commands.ensureQueue(db);
        Users users = new Users();
        db.inTransaction(c -> {
            users.createInvite(c, Tokens.sha256Hex(adminToken), "root", true, false, null, null);
            return null;
        });
        Capacity capacity = new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true)));
        api = new ApiServer(ApiFixture.parts(db, pgmq, commands, capacity, clock,
                new ApiConfig(2, "127.0.0.1", 2222, 0, 1000, 1000, ApiFixture.LOCAL_STS))).start("127.0.0.1", 0);
        base = "http://127.0.0.1:" + api.port();
        try {
            login(adminToken); // the first admin's token is sent (and used up): the audit test looks for it
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void stop() {
        System.out.println("responses validated against the OpenAPI document: " + checked + ", accepted requests: " + checkedRequests);
        api.close();
        db.close();
    }

    static Res call(String method, String path, String key, String body, String contentType) throws Exception {
        var b = HttpRequest.newBuilder(URI.create(base + path));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = r.body().isBlank() ? null : Json.MAPPER.readTree(r.body());
        // Every response of this suite must be as the OpenAPI document says.
        var problems = new java.util.ArrayList<>(SchemaCheck.check(method, path, r.statusCode(), json));
        if (r.statusCode() < 300 && body != null && !body.isBlank()) {
            // A request the API accepted must be one the document describes.
            problems.addAll(SchemaCheck.checkRequest(method, path, Json.MAPPER.readTree(body)));
            checkedRequests++;
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
        checked++;
        return new Res(r.statusCode(), json);
    }

    static Res post(String path, String key, String json) throws Exception {
        return call("POST", path, key, json, "application/json");
    }

    static Res get(String path, String key) throws Exception {
        return call("GET", path, key, null, null);
    }

    /** A fresh one-time admin token (every token works once, the bootstrap one too). */
    static String adminInvite() {
        String token = Tokens.newSecret();
        db.inTransaction(c -> {
            new Users().createInvite(c, Tokens.sha256Hex(token), "root", true, false, null, null);
            return null;
        });
        return token;
    }

    static String admin() throws Exception {
        return login(adminInvite());
    }

    static String login(String token) throws Exception {
        Res r = post("/v1/auth/token-login", null, "{\"token\":\"" + token + "\"}");
        assertEquals(200, r.status(), String.valueOf(r.body()));
        return r.body().get("api_key").asText();
    }

    static String newUser(String admin, String name) throws Exception {
        Res inv = post("/v1/admin/invites", admin, "{\"username\":\"" + name + "\"}");
        assertEquals(201, inv.status(), String.valueOf(inv.body()));
        return login(inv.body().get("token").asText());
    }

    static long queueLength() {
        return db.query(c -> pgmq.metrics(c, commands.queue())).queueLength();
    }

    @Test
    void healthReportsDatabaseAndQueue() throws Exception {
        Res r = get("/health", null);
        assertEquals(200, r.status());
        assertEquals("ok", r.body().get("database").asText());
        assertEquals("api_test_q", r.body().get("queue").get("name").asText());
    }

    @Test
    void loginReturnsAKeyStoredOnlyAsItsSha256() throws Exception {
        Res r = post("/v1/auth/token-login", null, "{\"token\":\"" + adminInvite() + "\"}");
        String key = r.body().get("api_key").asText();
        assertEquals(86, key.length(), "64 random bytes, URL-safe base64");
        assertTrue(key.matches("[A-Za-z0-9_-]+"));
        assertEquals(key.substring(0, 8), r.body().get("key_prefix").asText());
        assertEquals("root", r.body().get("username").asText());
        assertEquals(2, r.body().get("ttl_hours").asInt());
        long rowsWithPlainKey = db.query(c -> {
            try (var st = c.prepareStatement("select count(*) from api_keys where key_hash = ? or description like ?")) {
                st.setString(1, key);
                st.setString(2, "%" + key + "%");
                var rs = st.executeQuery();
                rs.next();
                return rs.getLong(1);
            }
        });
        assertEquals(0, rowsWithPlainKey);
        assertTrue(db.query(c -> new ApiKeys().findByHash(c, Tokens.sha256Hex(key))).isPresent());
    }

    @Test
    void unknownKeysAre401AndExpiredKeys403() throws Exception {
        assertEquals(401, get("/v1/jobs", null).status());
        assertEquals(401, get("/v1/jobs", "not-a-key").status());
        MutableClock local = clock;
        String key = admin();
        assertEquals(200, get("/v1/jobs", key).status());
        local.advance(Duration.ofHours(2).plusSeconds(1));
        try {
            Res r = get("/v1/jobs", key);
            assertEquals(403, r.status());
            assertTrue(r.body().get("message").asText().contains("expired"));
        } finally {
            local.advance(Duration.ofHours(-2).minusSeconds(1));
        }
    }

    @Test
    void invitesAreForAdminsAndWorkOnce() throws Exception {
        String admin = admin();
        Res inv = post("/v1/admin/invites", admin, "{\"username\":\"carol\"}");
        String token = inv.body().get("token").asText();
        String carol = login(token);
        assertEquals(401, post("/v1/auth/token-login", null, "{\"token\":\"" + token + "\"}").status());
        assertEquals(403, post("/v1/admin/invites", carol, "{\"username\":\"mallory\"}").status());
        assertEquals(400, post("/v1/admin/invites", admin, "{\"username\":\"bad name!\"}").status());
    }

    @Test
    void submitWritesTheRowAndItsCommandTogether() throws Exception {
        String key = newUser(admin(), "dave");
        long before = queueLength();
        Res r = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":2,\"duration_hours\":1.5,\"name\":\"exp\"}");
        assertEquals(201, r.status(), String.valueOf(r.body()));
        assertEquals("queued", r.body().get("status").asText());
        assertEquals("1.5", r.body().get("duration_hours").asText());
        assertEquals(before + 1, queueLength());
        var msg = db.query(c -> pgmq.read(c, commands.queue(), 0, 100)).stream()
                .filter(m -> m.message().contains(r.body().get("job_id").asText())).findFirst().orElseThrow();
        assertTrue(msg.message().contains("\"create\""));

        Res dup = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"name\":\"exp\"}");
        assertEquals(409, dup.status(), "one live reservation per name");
        assertEquals(before + 1, queueLength(), "a refused submit sends nothing");
    }

    @Test
    void theSameIdempotencyKeyReturnsTheFirstReservation() throws Exception {
        String key = newUser(admin(), "sam");
        String body = "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}";
        var first = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/jobs/submit")).header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json").header("Idempotency-Key", "retry-42")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        var again = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/jobs/submit")).header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json").header("Idempotency-Key", "retry-42")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, first.statusCode());
        assertEquals(200, again.statusCode());
        assertEquals(Json.MAPPER.readTree(first.body()).get("job_id"), Json.MAPPER.readTree(again.body()).get("job_id"));
        assertEquals(1, get("/v1/jobs", key).body().get("jobs").size());
        String other = newUser(admin(), "tess");
        var theirs = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/jobs/submit")).header("Authorization", "Bearer " + other)
                .header("Content-Type", "application/json").header("Idempotency-Key", "retry-42")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, theirs.statusCode(), "keys are per user");
    }

    @Test
    void disksImagesAndNodeLabelsAreCheckedStoredAndShown() throws Exception {
        String key = newUser(admin(), "wes");
        Res r = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"disk_name\":\"work\","
                + "\"image\":\"ghcr.io/pytorch/pytorch:2.5-cuda12\"}");
        assertEquals(201, r.status(), String.valueOf(r.body()));
        String id = r.body().get("job_id").asText();
        JsonNode shown = get("/v1/jobs/" + id, key).body();
        assertEquals("work", shown.get("disk_name").asText());
        assertEquals("ghcr.io/pytorch/pytorch:2.5-cuda12", shown.get("image").asText());
        assertEquals(1L, (long) db.query(c -> {
            try (var rs = c.createStatement().executeQuery("select count(*) from disks where name = 'work'")) {
                rs.next();
                return rs.getLong(1);
            }
        }), "the disk is recorded");
        assertTrue(post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"no_persist\":true}")
                .body().get("no_persist").asBoolean());
        assertEquals(400, post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,"
                + "\"disk_name\":\"work\",\"no_persist\":true}").status(), "a kept disk and a scratch home contradict");
        assertEquals(400, post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"disk_name\":\"Work!\"}").status());
        assertEquals(400, post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"image\":\"a b\"}").status());
        assertEquals(400, post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"node_labels\":{\"zone\":1}}").status());
        Res noNode = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"node_labels\":{\"zone\":\"mars\"}}");
        assertEquals(422, noNode.status(), "no node has the label: refused, not left waiting");
        assertTrue(noNode.body().get("message").asText().contains("zone=mars"), noNode.body().toString());
    }

    @Test
    void disksAreListedCreatedAndDeletedButNotWhileWanted() throws Exception {
        String key = newUser(admin(), "xan");
        assertEquals(201, post("/v1/disks", key, "{\"name\":\"data\"}").status());
        assertEquals(409, post("/v1/disks", key, "{\"name\":\"data\"}").status());
        assertEquals(400, post("/v1/disks", key, "{\"name\":\"Bad Name\"}").status());
        post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"disk_name\":\"models\"}");
        JsonNode disks = get("/v1/disks", key).body().get("disks");
        assertEquals(2, disks.size(), "made explicitly, and on first use by a reservation");
        assertEquals(409, call("DELETE", "/v1/disks/models", key, null, null).status(), "a waiting reservation wants it");
        long before = queueLength();
        assertEquals(202, call("DELETE", "/v1/disks/data", key, null, null).status());
        assertEquals(before + 1, queueLength(), "the files are the processor's to delete");
        assertEquals(404, call("DELETE", "/v1/disks/data", key, null, null).status());
        String yul = newUser(admin(), "yul");
        assertEquals(0, get("/v1/disks", yul).body().get("disks").size(), "disks are per user");
        var one = get("/v1/disks/models", key);
        assertEquals(200, one.status(), one.body().toString());
        assertEquals("models", one.body().get("name").asText());
        assertTrue(one.body().has("in_use_by"));
        assertEquals(404, get("/v1/disks/models", yul).status(), "another's disk is not there for them");
        assertEquals(404, get("/v1/disks/data", key).status(), "deleted");
    }

    @Test
    void aWaitingReservationsDurationCanChangeWithinTheRulesOfASubmit() throws Exception {
        String key = newUser(admin(), "uli");
        String id = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":4}").body().get("job_id").asText();
        long before = queueLength();
        Res shorter = post("/v1/jobs/" + id + "/duration", key, "{\"duration_hours\":2}");
        assertEquals(202, shorter.status(), shorter.body().toString());
        assertTrue(shorter.body().get("message").asText().startsWith("it keeps its place in line; it cannot start later"), shorter.body().toString());
        assertEquals(before + 1, queueLength(), "the processor applies it");
        assertTrue(post("/v1/jobs/" + id + "/duration", key, "{\"duration_hours\":6}").body().get("message").asText().contains("may start later"));
        Res tooLong = post("/v1/jobs/" + id + "/duration", key, "{\"duration_hours\":25}");
        assertEquals(400, tooLong.status());
        assertTrue(tooLong.body().get("message").asText().contains("out of range"), tooLong.body().toString());
        assertEquals(404, post("/v1/jobs/" + id + "/duration", newUser(admin(), "vera"), "{\"duration_hours\":1}").status(), "not hers");
        String running = db.query(c -> {
            try (var ps = c.prepareStatement("update reservations set status = 'active', launched_at = now(), expires_at = now() + interval '1 hour'"
                    + " where reservation_id = ?::uuid")) {
                ps.setString(1, id);
                ps.executeUpdate();
            }
            return id;
        });
        Res active = post("/v1/jobs/" + running + "/duration", key, "{\"duration_hours\":2}");
        assertEquals(409, active.status());
        assertTrue(active.body().get("message").asText().contains("gpu-dev edit --extend"), active.body().toString());
    }

    @Test
    void theListOfJobsSaysHowManyThereAreInAll() throws Exception {
        String key = newUser(admin(), "toto");
        for (int i = 0; i < 3; i++) {
            post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}");
        }
        var page = get("/v1/jobs?limit=2", key).body();
        assertEquals(2, page.get("jobs").size());
        assertEquals(3, page.get("total").asInt(), "the original's clients read total");
        assertEquals(3, get("/v1/jobs", key).body().get("total").asInt());
        assertEquals(1, get("/v1/jobs?limit=2&offset=2", key).body().get("total").asInt() - 2);
        assertEquals(0, get("/v1/jobs?status=active", key).body().get("total").asInt());
    }

    @Test
    void aReservationCanBeKeptWhenIdle() throws Exception {
        String key = newUser(admin(), "vic");
        Res r = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"keep_when_idle\":true}");
        assertTrue(r.body().get("keep_when_idle").asBoolean());
        String id = r.body().get("job_id").asText();
        assertTrue(get("/v1/jobs/" + id, key).body().get("keep_when_idle").asBoolean(), "stored");
        assertTrue(db.query(c -> new Reservations().find(c, java.util.UUID.fromString(id))).orElseThrow().lifecycle().idleOptOut());
        assertFalse(post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}").body()
                .get("keep_when_idle").asBoolean());
    }

    @Test
    void aDryRunChecksAndEstimatesWithoutStoring() throws Exception {
        try (ApiFixture f = new ApiFixture()) {
            String holder = f.newUser("holder");
            String key = f.newUser("uma");
            UUID held = f.activeReservation(holder, "all-of-it", 8);
            var expires = f.db.query(c -> new Reservations().find(c, held)).orElseThrow().expiresAt();
            long before = f.db.query(c -> pgmq.metrics(c, f.commands.queue())).queueLength();
            var r = f.call("POST", "/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":8,\"duration_hours\":1,\"dry_run\":true}");
            assertEquals(200, r.status(), r.raw());
            assertTrue(r.body().get("dry_run").asBoolean());
            assertFalse(r.body().get("would_start_now").asBoolean(), r.raw());
            assertEquals(1, r.body().get("queue_position").asInt());
            assertEquals("WAITING_FOR_CAPACITY", r.body().get("pending_reason").asText());
            assertEquals(expires.plusSeconds(60).truncatedTo(java.time.temporal.ChronoUnit.MILLIS), Instant.parse(r.body().get("estimated_start_at").asText()),
                    "when the holder's GPUs are free: its end and the grace minute");
            var now = f.call("POST", "/v1/jobs/submit", key, "{\"gpu_type\":\"a100\",\"gpu_count\":1,\"duration_hours\":1,\"dry_run\":true}");
            assertEquals(422, now.status(), "no a100 here: it would never start");
            assertEquals(before, f.db.query(c -> pgmq.metrics(c, f.commands.queue())).queueLength(), "nothing stored");
            assertEquals(0, f.call("GET", "/v1/jobs", key, null).body().get("jobs").size());
            assertEquals(400, f.call("POST", "/v1/jobs/submit", key,
                    "{\"gpu_type\":\"h100\",\"gpu_count\":3,\"duration_hours\":1,\"dry_run\":true}").status());
        }
    }

    @Test
    void badSubmissionsAreClear4xxAndStoreNothing() throws Exception {
        String key = newUser(admin(), "erin");
        long before = queueLength();
        String[][] cases = {
            {"{\"gpu_type\":\"h100\",\"gpu_count\":3,\"duration_hours\":1}", "400"},
            {"{\"gpu_type\":\"h100\",\"gpu_count\":\"two\",\"duration_hours\":1}", "400"},
            {"{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":100}", "400"},
            {"{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1e308}", "400"},
            {"{\"gpu_type\":\"h100\",\"gpu_count\":1}", "400"},
            {"{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"name\":\"Bad_Name\"}", "400"},
            {"{\"gpu_type\":\"a100\",\"gpu_count\":1,\"duration_hours\":1}", "422"},
            {"{\"gpu_type\":\"nope\",\"gpu_count\":1,\"duration_hours\":1}", "400"},
            {"[1,2,3]", "400"},
            {"{not json", "400"},
            {"null", "400"},
            {"{\"gpu_type\":\"h100\",\"gpu_cnt\":1,\"duration_hours\":1}", "400"},
        };
        for (String[] c : cases) {
            Res r = post("/v1/jobs/submit", key, c[0]);
            assertEquals(Integer.parseInt(c[1]), r.status(), c[0] + " -> " + r.body());
            assertTrue(r.body().hasNonNull("error") && r.body().hasNonNull("message"), c[0]);
        }
        assertEquals(415, call("POST", "/v1/jobs/submit", key, "gpu_type=h100", "application/x-www-form-urlencoded").status());
        assertEquals(413, post("/v1/jobs/submit", key, "{\"name\":\"" + "a".repeat(100_000) + "\"}").status());
        assertEquals(before, queueLength());
        assertEquals(0, get("/v1/jobs", key).body().get("jobs").size());
    }

    @Test
    void usersSeeAndCancelOnlyTheirOwnReservations() throws Exception {
        String admin = admin();
        String frank = newUser(admin, "frank");
        String grace = newUser(admin, "grace");
        Res r = post("/v1/jobs/submit", frank, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1,\"name\":\"mine\"}");
        String id = r.body().get("job_id").asText();
        assertEquals(200, get("/v1/jobs/" + id, frank).status());
        assertEquals(200, get("/v1/jobs/mine", frank).status(), "by name");
        assertEquals(404, get("/v1/jobs/" + id, grace).status());
        assertEquals(404, get("/v1/jobs/mine", grace).status());
        assertEquals(404, post("/v1/jobs/" + id + "/cancel", grace, null).status());
        assertEquals(0, get("/v1/jobs", grace).body().get("jobs").size());
        assertEquals(200, get("/v1/jobs/" + id, admin).status(), "admins see all");
        Res cancel = post("/v1/jobs/" + id + "/cancel", frank, null);
        assertEquals(202, cancel.status());
    }

    @Test
    void listingIsBoundedAndFiltersByStatus() throws Exception {
        String key = newUser(admin(), "heidi");
        for (int i = 0; i < 3; i++) {
            post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}");
        }
        JsonNode jobs = get("/v1/jobs?limit=2", key).body().get("jobs");
        assertEquals(2, jobs.size());
        assertTrue(jobs.get(0).get("created_at").asText().compareTo(jobs.get(1).get("created_at").asText()) >= 0, "newest first");
        assertEquals(3, get("/v1/jobs?status=queued,active", key).body().get("jobs").size());
        assertEquals(0, get("/v1/jobs?status=active", key).body().get("jobs").size());
        assertEquals(400, get("/v1/jobs?limit=0", key).status());
        assertEquals(400, get("/v1/jobs?limit=501", key).status());
        assertEquals(400, get("/v1/jobs?limit=abc", key).status());
        assertEquals(400, get("/v1/jobs?status=running", key).status());
    }

    @Test
    void sshKeysAreCheckedFingerprintedAndPrivate() throws Exception {
        String admin = admin();
        String ivan = newUser(admin, "ivan");
        String key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ ivan@laptop";
        Res add = post("/v1/ssh-keys", ivan, Json.write(java.util.Map.of("public_key", key)));
        assertEquals(201, add.status(), String.valueOf(add.body()));
        assertTrue(add.body().get("fingerprint").asText().startsWith("SHA256:"));
        assertEquals(400, post("/v1/ssh-keys", ivan, "{\"public_key\":\"-----BEGIN OPENSSH PRIVATE KEY-----\"}").status());
        long id = add.body().get("id").asLong();
        assertEquals(404, call("DELETE", "/v1/ssh-keys/" + id, newUser(admin, "ivy"), null, null).status(), "not another user's key");
        assertEquals(204, call("DELETE", "/v1/ssh-keys/" + id, ivan, null, null).status());
        assertEquals(0, get("/v1/ssh-keys", ivan).body().get("keys").size());
    }

    @Test
    void extendIsCheckedUpFrontAndQueuedAsACommand() throws Exception {
        String key = newUser(admin(), "judy");
        String id = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}").body().get("job_id").asText();
        Res queued = post("/v1/jobs/" + id + "/extend", key, "{\"extension_hours\":1}");
        assertEquals(409, queued.status(), "a queued reservation is not extended: " + queued.body());
        db.inTransaction(c -> {
            var rs = new Reservations();
            var uuid = java.util.UUID.fromString(id);
            var r = rs.transition(c, uuid, dev.gpudev.core.ReservationStatus.QUEUED,
                    dev.gpudev.core.Transition.admit(dev.gpudev.core.Reservation.Placement.of("n0", 1)), clock.instant()).orElseThrow();
            var running = r.placement().withRunning(List.of(new dev.gpudev.core.Reservation.Placement.Slice("n0", 1, List.of(0), "127.0.0.1", 40001)));
            rs.transition(c, uuid, dev.gpudev.core.ReservationStatus.PREPARING,
                    dev.gpudev.core.Transition.activate(r, clock.instant(), running, "running"), clock.instant());
            return null;
        });
        long before = queueLength();
        assertEquals(400, post("/v1/jobs/" + id + "/extend", key, "{\"extension_hours\":25}").status());
        assertEquals(400, post("/v1/jobs/" + id + "/extend", key, "{\"extension_hours\":0}").status());
        assertEquals(400, post("/v1/jobs/" + id + "/extend", key, "{}").status());
        assertEquals(before, queueLength());
        Res ok = post("/v1/jobs/" + id + "/extend", key, "{\"extension_hours\":2.5}");
        assertEquals(202, ok.status(), String.valueOf(ok.body()));
        assertEquals("3.5", ok.body().get("duration_hours").asText());
        assertEquals(before + 1, queueLength());
        assertEquals(404, post("/v1/jobs/" + id + "/extend", newUser(admin(), "kim"), "{\"extension_hours\":1}").status());
    }

    @Test
    void addedUsersMayReadButNotChangeAndOthersNeither() throws Exception {
        String admin = admin();
        String mia = newUser(admin, "mia");
        String ned = newUser(admin, "ned");
        String oli = newUser(admin, "oli");
        String id = post("/v1/jobs/submit", mia, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}").body().get("job_id").asText();
        assertEquals(404, post("/v1/jobs/" + id + "/users", ned, "{\"username\":\"ned\"}").status(), "only the owner adds");
        assertEquals(404, post("/v1/jobs/" + id + "/users", mia, "{\"username\":\"ghost\"}").status());
        assertEquals(409, post("/v1/jobs/" + id + "/users", mia, "{\"username\":\"mia\"}").status());
        assertEquals(202, post("/v1/jobs/" + id + "/users", mia, "{\"username\":\"ned\"}").status());
        db.inTransaction(c -> new dev.gpudev.store.ReservationUsers().add(c, java.util.UUID.fromString(id),
                new Users().findByName(c, "ned").orElseThrow().userId(), new Users().findByName(c, "mia").orElseThrow().userId()));
        assertEquals(200, get("/v1/jobs/" + id, ned).status(), "added users read it");
        assertEquals(1, get("/v1/jobs", ned).body().get("jobs").size(), "and see it in their list");
        Res refused = post("/v1/jobs/" + id + "/cancel", ned, null);
        assertEquals(403, refused.status(), "but do not cancel it, and are told why");
        assertTrue(refused.body().get("message").asText().contains("only mia"), refused.body().toString());
        assertEquals(403, post("/v1/jobs/" + id + "/extend", ned, "{\"extension_hours\":1}").status());
        assertEquals(404, get("/v1/jobs/" + id, oli).status());
        assertEquals(202, post("/v1/jobs/" + id + "/jupyter/enable", mia, null).status());
        assertEquals(403, post("/v1/jobs/" + id + "/jupyter/enable", ned, null).status());
    }

    @Test
    void clusterStatusCountsReservationsAndGpus() throws Exception {
        String key = newUser(admin(), "leo");
        post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":2,\"duration_hours\":1}");
        Res r = get("/v1/cluster/status", key);
        assertEquals(200, r.status());
        assertEquals(8, r.body().get("total_gpus").asInt());
        assertTrue(r.body().get("reservations_by_state").get("queued").asInt() >= 1);
        assertEquals(8, r.body().get("by_gpu_type").get("h100").get("total_gpus").asInt());
        assertEquals(401, get("/v1/cluster/status", null).status());
    }

    @Test
    void keysRotateAndTheOldOneEndsWhenAsked() throws Exception {
        String admin = admin();
        String pat = newUser(admin, "pat");
        Res rotated = post("/v1/keys/rotate", pat, "{}");
        assertEquals(200, rotated.status());
        String second = rotated.body().get("api_key").asText();
        assertEquals(200, get("/v1/jobs", pat).status(), "the old key stays valid");
        Res again = post("/v1/keys/rotate", second, "{\"revoke_old\":true}");
        assertTrue(again.body().get("old_key_revoked").asBoolean());
        assertEquals(403, get("/v1/jobs", second).status(), "revoked");
        String third = again.body().get("api_key").asText();
        JsonNode keys = get("/v1/keys", third).body().get("keys");
        assertEquals(3, keys.size());
        assertTrue(keys.toString().indexOf(third) < 0, "keys are listed by prefix only");
        long patKey = keys.get(2).get("key_id").asLong();
        assertEquals(404, call("DELETE", "/v1/keys/" + patKey, newUser(admin, "quinn"), null, null).status(), "not another user's key");
        assertEquals(204, call("DELETE", "/v1/keys/" + patKey, admin, null, null).status(), "admins revoke any key");
        assertEquals(403, get("/v1/jobs", pat).status());
    }

    @Test
    void everyAuditTargetNamesItsKindAndItsReference() throws Exception {
        String admin = admin();
        String ida = newUser(admin, "ida");
        post("/v1/disks", ida, "{\"name\":\"scratch\"}");
        call("DELETE", "/v1/disks/scratch", ida, null, null);
        String job = post("/v1/jobs/submit", ida, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}").body().get("job_id").asText();
        call("POST", "/v1/jobs/" + job.substring(0, 8) + "/cancel", ida, null, null);
        JsonNode entries = get("/v1/audit?username=ida", admin).body().get("entries");
        java.util.Set<String> targets = new java.util.HashSet<>();
        entries.forEach(e -> targets.add(e.get("target").asText()));
        assertTrue(targets.containsAll(java.util.Set.of("disk scratch", "reservation " + job)), targets.toString());
        for (String t : targets) {
            assertTrue(t.matches("(reservation|disk|user|team|key|ssh-key|disk-operation|notification) \\S.*|null"), "one rule: " + t);
        }
    }

    @Test
    void stateChangingRequestsAndLoginsAreAuditedForAdmins() throws Exception {
        String admin = admin();
        String rae = newUser(admin, "rae");
        String made = post("/v1/jobs/submit", rae, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}").body().get("job_id").asText();
        post("/v1/jobs/submit", rae, "{\"gpu_type\":\"h100\",\"gpu_count\":3,\"duration_hours\":1}");
        assertEquals(403, get("/v1/audit", rae).status());
        JsonNode entries = get("/v1/audit?username=rae&action=POST%20/v1/jobs/submit", admin).body().get("entries");
        assertEquals(2, entries.size());
        assertEquals(400, entries.get(0).get("outcome").asInt(), "newest first, with the outcome");
        assertEquals(201, entries.get(1).get("outcome").asInt());
        assertEquals("reservation " + made, entries.get(1).get("target").asText(), "a submit's entry names the reservation it made");
        String[] sameCommit = db.query(c -> {
            try (var ps = c.prepareStatement("select (select xmin::text from reservations where reservation_id = ?::uuid),"
                    + " (select xmin::text from audit_log where target = ?)")) {
                ps.setString(1, made);
                ps.setString(2, "reservation " + made);
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    return new String[] {rs.getString(1), rs.getString(2)};
                }
            }
        });
        assertEquals(sameCommit[0], sameCommit[1], "a new reservation and its audit entry are written by one transaction (one commit per submit)");
        assertEquals("127.0.0.1", entries.get(0).get("client_address").asText());
        JsonNode logins = get("/v1/audit?username=rae&action=POST%20/v1/auth/token-login", admin).body().get("entries");
        assertEquals(1, logins.size());
        assertEquals(400, get("/v1/audit?since=yesterday", admin).status());
        String all = get("/v1/audit?limit=1000", admin).body().toString();
        assertFalse(all.contains(adminToken), "no secret in the audit log");
    }

    @Test
    void anIdPrefixTooShortToBeOneIsSaidSo() throws Exception {
        String key = newUser(admin(), "erin");
        Res r = post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}");
        String id = r.body().get("job_id").asText();
        Res shortPrefix = get("/v1/jobs/" + id.substring(0, 2), key);
        assertEquals(404, shortPrefix.status());
        assertTrue(shortPrefix.body().get("message").asText().contains("an id prefix needs at least 4 characters"), shortPrefix.body().toString());
        assertEquals(200, get("/v1/jobs/" + id.substring(0, 4), key).status(), "4 characters find it");
        Res name = get("/v1/jobs/nosuchname", key);
        assertFalse(name.body().get("message").asText().contains("prefix"), "a name is not an id: " + name.body());
    }

    @Test
    void metricsCountRequestsAndShowQueueAndGpus() throws Exception {
        get("/health", null);
        get("/no/such/route", null);
        var r = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        String text = r.body();
        assertTrue(text.contains("gpudev_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"}"), text);
        assertTrue(text.contains("gpudev_http_request_duration_seconds_bucket{method=\"GET\",route=\"/health\",status=\"200\",le=\"+Inf\"}"));
        assertTrue(text.contains("route=\"unmatched\",status=\"404\""), "a request no route matched has one fixed label");
        assertFalse(text.contains("No handler"), text);
        assertTrue(text.contains("gpudev_queue_depth "));
        assertTrue(text.contains("gpudev_reservations{state=\"queued\"}"));
        assertTrue(text.contains("gpudev_gpus_free{gpu_type=\"h100\"}"));
    }

    @Test
    void theDocumentNamesEveryRouteAndNothingElse() throws Exception {
        java.util.Set<String> documented = new java.util.TreeSet<>();
        SchemaCheck.DOC.get("paths").fields().forEachRemaining(e -> e.getValue().fieldNames()
                .forEachRemaining(m -> documented.add(m.toUpperCase() + " " + e.getKey())));
        assertEquals(documented, new java.util.TreeSet<>(api.registeredRoutes()));
        assertEquals("3.1.0", get("/openapi.json", null).body().get("openapi").asText());
        var docs = http.send(HttpRequest.newBuilder(URI.create(base + "/docs")).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(docs.body().contains("swagger-ui-bundle.js"));
        var bundle = http.send(HttpRequest.newBuilder(URI.create(base + "/docs/assets/swagger-ui-bundle.js")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, bundle.statusCode(), "Swagger UI is served");
    }

    @Test
    void unknownRoutesAndMethodsAnswerJson() throws Exception {
        Res r = get("/v1/nope", null);
        assertEquals(404, r.status());
        assertEquals("not_found", r.body().get("error").asText());
        assertNotEquals(500, call("PUT", "/v1/jobs/submit", null, "{}", "application/json").status());
        assertFalse(get("/", null).body().isEmpty());
    }

    @Test
    void anAdminDisablesAUserAndEverythingOfTheirsStopsAtOnceThenEnablesThemAgain() throws Exception {
        String admin = admin();
        String key = newUser(admin, "to-disable");
        assertEquals(200, get("/v1/jobs", key).status());
        assertEquals(201, post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}").status());
        assertEquals(201, post("/v1/jobs/submit", key, "{\"gpu_type\":\"h100\",\"gpu_count\":2,\"duration_hours\":1}").status());
        long before = queueLength();
        Res off = post("/v1/admin/users/to-disable/disable", admin, null);
        assertEquals(200, off.status(), String.valueOf(off.body()));
        assertEquals(2, off.body().get("reservations_cancelled").asInt());
        assertEquals(before + 2, queueLength(), "a cancel for each of their reservations");
        Res refused = get("/v1/jobs", key);
        assertEquals(403, refused.status(), "at once, though the key was checked a moment ago");
        assertTrue(refused.body().get("message").asText().contains("disabled"), String.valueOf(refused.body()));
        assertEquals(400, post("/v1/admin/users/root/disable", admin, null).status(), "not oneself");
        assertEquals(404, post("/v1/admin/users/nobody-here/disable", admin, null).status());
        assertEquals(403, post("/v1/admin/users/root/disable", key, null).status());
        assertEquals(200, post("/v1/admin/users/to-disable/enable", admin, null).status());
        assertEquals(200, get("/v1/jobs", key).status(), "enabled again: their key works");
    }
}
