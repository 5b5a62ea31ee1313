package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Capacity;
import dev.gpudev.core.GpuCatalog;
import dev.gpudev.core.ReservationStatus;
import dev.gpudev.core.Tokens;
import dev.gpudev.core.Reservation;
import dev.gpudev.core.Transition;
import dev.gpudev.store.ApiKeys;
import dev.gpudev.store.CapacityTable;
import dev.gpudev.store.Disks;
import dev.gpudev.store.Notifications;
import dev.gpudev.store.ReservationUsers;
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

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** A running API on a fresh database, with helpers to log people in and make reservations. */
final class ApiFixture implements AutoCloseable {
    record Res(int status, String raw, JsonNode body) {
    }

    /** Tests never reach out: STS is a closed port on this machine unless a test runs its own. */
    static final AwsLogin.Settings LOCAL_STS = new AwsLogin.Settings("SSOCloudDevGpuReservation", "us-east-1",
            URI.create("http://127.0.0.1:1"), java.util.Set.of("123456789012"));

    final Database db = TestDatabase.fresh();
    final Pgmq pgmq = new Pgmq();
    final CommandQueue commands = new CommandQueue(pgmq, "fixture_q");
    final MutableClock clock = new MutableClock(Instant.now());
    final String adminToken = Tokens.newSecret();
    final ApiServer api;
    final String base;
    private final HttpClient http = HttpClient.newHttpClient();

    ApiFixture() {
        this(new Capacity(List.of(new Capacity.Node("n0", "h100", List.of(0, 1, 2, 3, 4, 5, 6, 7), true))));
    }

    /** On this capacity (as a processor would have published it). */
    ApiFixture(Capacity capacity) {
        commands.ensureQueue(db);
        db.inTransaction(c -> {
            new Users().createInvite(c, Tokens.sha256Hex(adminToken), "root", true, false, null, null);
            return null;
        });
        api = new ApiServer(parts(db, pgmq, commands, capacity, clock,
                new ApiConfig(2, "127.0.0.1", 2222, 0, 100_000, 100_000, ApiFixture.LOCAL_STS)
                        .withWebhooks(new dev.gpudev.core.WebhookPolicy(List.of("*.example.test"))))).start("127.0.0.1", 0);
        base = "http://127.0.0.1:" + api.port();
    }

    /** The API's parts on a database, with this capacity published as the processor would. */
    static ApiServer.Parts parts(Database db, Pgmq pgmq, CommandQueue commands, Capacity capacity, java.time.Clock clock, ApiConfig config) {
        db.inTransaction(c -> {
            new CapacityTable().publish(c, capacity, java.time.Instant.now());
            return null;
        });
        return new ApiServer.Parts(db, new Users(), new ApiKeys(), new SshKeys(), new Reservations(), new ReservationUsers(), new Disks(),
                pgmq, commands, new CapacityTable(), GpuCatalog.standard(), clock, config, new AuditLog(), new Notifications.Coalescer(db),
                new dev.gpudev.store.UiSessions(), new dev.gpudev.store.UsageSamples());
    }

    Res call(String method, String path, String key, String body) throws Exception {
        var b = HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json");
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = null;
        if (r.headers().firstValue("Content-Type").orElse("").startsWith("application/json") && !r.body().isBlank()) {
            json = Json.MAPPER.readTree(r.body());
        }
        return new Res(r.statusCode(), r.body(), json);
    }

    String login(String token) throws Exception {
        return call("POST", "/v1/auth/token-login", null, "{\"token\":\"" + token + "\"}").body().get("api_key").asText();
    }

    private String adminKey;

    /** The admin's key, from a one-time admin token (every token works once), made on first use. */
    String admin() throws Exception {
        if (adminKey != null) {
            return adminKey;
        }
        String token = Tokens.newSecret();
        db.inTransaction(c -> {
            new Users().createInvite(c, Tokens.sha256Hex(token), "root", true, false, null, null);
            return null;
        });
        adminKey = login(token);
        return adminKey;
    }

    String newUser(String name) throws Exception {
        return login(call("POST", "/v1/admin/invites", admin(), "{\"username\":\"" + name + "\"}").body().get("token").asText());
    }

    /** A reservation made active by hand (no processor runs here). */
    UUID activeReservation(String ownerKey, String name) throws Exception {
        return activeReservation(ownerKey, name, 1);
    }

    UUID activeReservation(String ownerKey, String name, int gpus) throws Exception {
        return active(ownerKey, "{\"gpu_type\":\"h100\",\"gpu_count\":" + gpus + ",\"duration_hours\":1,\"name\":\"" + name + "\"}", gpus);
    }

    /** A reservation submitted with this body (of so many GPUs), made active as the processor would. */
    UUID active(String ownerKey, String body, int gpus) throws Exception {
        Res submitted = call("POST", "/v1/jobs/submit", ownerKey, body);
        if (submitted.status() != 201) {
            throw new IllegalStateException("submit refused: " + submitted.raw());
        }
        UUID id = UUID.fromString(submitted.body().get("job_id").asText());
        db.inTransaction(c -> {
            var rs = new Reservations();
            var r = rs.transition(c, id, ReservationStatus.QUEUED, Transition.admit(Reservation.Placement.of("n0", gpus)), clock.instant())
                    .orElseThrow();
            var running = r.placement().withRunning(List.of(new Reservation.Placement.Slice("n0", gpus, List.of(), "127.0.0.1",
                    40000 + gpus)));
            rs.transition(c, id, ReservationStatus.PREPARING, Transition.activate(r, clock.instant(), running, "running"), clock.instant());
            return null;
        });
        return id;
    }

    @Override
    public void close() {
        api.close();
        db.close();
    }
}
