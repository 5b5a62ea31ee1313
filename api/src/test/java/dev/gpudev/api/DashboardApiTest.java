package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gpudev.core.Reservation;
import dev.gpudev.store.Json;
import dev.gpudev.store.Reservations;
import dev.gpudev.store.UsageSamples;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dashboard's logins and the routes it reads, over HTTP as a browser sends them: one-time links,
 * the session cookie's attributes, CSRF and cross-site refusals, logout ending the session on the
 * server, idle and absolute expiry, the same authorization as API keys, and the pages' headers.
 * (The pages themselves are driven in a real browser by the end-to-end DashboardE2ETest.)
 */
class DashboardApiTest {
    static ApiFixture f;
    static String owner;
    static String other;
    final HttpClient http = HttpClient.newHttpClient();

    record Res(int status, String body, JsonNode json, HttpResponse<String> raw) {
    }

    @BeforeAll
    static void setUp() throws Exception {
        f = new ApiFixture();
        owner = f.newUser("dash-owner");
        other = f.newUser("dash-other");
    }

    @AfterAll
    static void tearDown() {
        f.close();
    }

    Res send(String method, String path, Map<String, String> headers, String body) throws Exception {
        var b = HttpRequest.newBuilder(URI.create(f.base + path));
        headers.forEach(b::header);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = r.body().isBlank() || !r.headers().firstValue("Content-Type").orElse("").startsWith("application/json")
                ? null : Json.MAPPER.readTree(r.body());
        List<String> problems = SchemaCheck.check(method, path, r.statusCode(), json);
        assertTrue(problems.isEmpty(), problems.toString());
        return new Res(r.statusCode(), r.body(), json, r);
    }

    String linkToken(String key) throws Exception {
        Res link = send("POST", "/v1/ui/login-links", Map.of("Authorization", "Bearer " + key), null);
        assertEquals(201, link.status(), link.body());
        String token = link.json().get("token").asText();
        assertEquals("/ui/login#" + token, link.json().get("path").asText(), "the token rides in the fragment, never sent to a server");
        return token;
    }

    /** A browser session: its cookie ("gpudev_session=…") and CSRF token. */
    record Browser(String cookie, String csrf, String setCookie) {
        Map<String, String> reads() {
            return Map.of("Cookie", cookie);
        }

        Map<String, String> changes() {
            return Map.of("Cookie", cookie, "X-CSRF-Token", csrf, "Content-Type", "application/json", "Sec-Fetch-Site", "same-origin");
        }
    }

    Browser login(String key, Map<String, String> extra) throws Exception {
        var headers = new java.util.HashMap<>(Map.of("Content-Type", "application/json"));
        headers.putAll(extra);
        Res s = send("POST", "/v1/ui/session", headers, "{\"token\":\"" + linkToken(key) + "\"}");
        assertEquals(201, s.status(), s.body());
        String setCookie = s.raw().headers().firstValue("Set-Cookie").orElseThrow();
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));
        return new Browser(cookie, s.json().get("csrf_token").asText(), setCookie);
    }

    @Test
    void aLoginLinkMakesAnHttpOnlyStrictSessionCookieOnceAndNeverCarriesTheApiKey() throws Exception {
        String token = linkToken(owner);
        Res s = send("POST", "/v1/ui/session", Map.of("Content-Type", "application/json"), "{\"token\":\"" + token + "\"}");
        assertEquals(201, s.status(), s.body());
        String setCookie = s.raw().headers().firstValue("Set-Cookie").orElseThrow();
        assertTrue(setCookie.startsWith("gpudev_session="), setCookie);
        assertTrue(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/"), setCookie);
        assertFalse(setCookie.contains("Secure"), "plain HTTP on this machine: a Secure cookie would never come back");
        assertFalse(setCookie.contains(owner) || s.body().contains(owner), "the API key never reaches the browser");
        assertEquals("dash-owner", s.json().get("username").asText());

        Res again = send("POST", "/v1/ui/session", Map.of("Content-Type", "application/json"), "{\"token\":\"" + token + "\"}");
        assertEquals(401, again.status());
        assertTrue(again.json().get("message").asText().contains("already used"), again.body());

        Browser behindHttps = login(owner, Map.of("X-Forwarded-Proto", "https"));
        assertTrue(behindHttps.setCookie().contains("; Secure"), behindHttps.setCookie());
    }

    @Test
    void aLoginLinkExpiresAfterTwoMinutes() throws Exception {
        String token = linkToken(owner);
        f.clock.advance(Duration.ofMinutes(2).plusSeconds(1));
        try {
            Res s = send("POST", "/v1/ui/session", Map.of("Content-Type", "application/json"), "{\"token\":\"" + token + "\"}");
            assertEquals(401, s.status());
            assertTrue(s.json().get("message").asText().contains("expired"), s.body());
        } finally {
            f.clock.advance(Duration.ofMinutes(-2).minusSeconds(1));
        }
    }

    @Test
    void theSessionReadsLikeAKeyButEveryChangeNeedsItsCsrfTokenAndTheSameSite() throws Exception {
        Browser b = login(owner, Map.of());
        Res me = send("GET", "/v1/ui/session", b.reads(), null);
        assertEquals(200, me.status());
        assertEquals(b.csrf(), me.json().get("csrf_token").asText());
        assertEquals("session", me.json().get("via").asText());
        assertEquals(200, send("GET", "/v1/jobs", b.reads(), null).status());

        UUID job = f.activeReservation(owner, "csrf-target");
        String path = "/v1/jobs/" + job + "/extend";
        Map<String, String> noToken = Map.of("Cookie", b.cookie(), "Content-Type", "application/json");
        Res without = send("POST", path, noToken, "{\"extension_hours\":1}");
        assertEquals(403, without.status());
        assertTrue(without.json().get("message").asText().contains("X-CSRF-Token"), without.body());
        var wrong = new java.util.HashMap<>(b.changes());
        wrong.put("X-CSRF-Token", "not-it");
        assertEquals(403, send("POST", path, wrong, "{\"extension_hours\":1}").status());
        var crossSite = new java.util.HashMap<>(b.changes());
        crossSite.put("Sec-Fetch-Site", "cross-site");
        assertEquals(403, send("POST", path, crossSite, "{\"extension_hours\":1}").status());
        // Nothing of the refused requests reached the processor's queue; the right one does.
        assertEquals(202, send("POST", path, b.changes(), "{\"extension_hours\":1}").status());
        assertEquals(202, send("POST", "/v1/jobs/" + job + "/cancel", b.changes(), null).status());
    }

    @Test
    void aSessionSeesWhatItsUsersKeySeesAndNoMore() throws Exception {
        UUID job = f.activeReservation(owner, "private-one");
        Browser otherBrowser = login(other, Map.of());
        assertEquals(404, send("GET", "/v1/jobs/" + job, otherBrowser.reads(), null).status());
        assertEquals(404, send("POST", "/v1/jobs/" + job + "/cancel", otherBrowser.changes(), null).status());
        Res admin = send("GET", "/v1/admin/users", otherBrowser.reads(), null);
        assertEquals(403, admin.status());
        assertTrue(admin.json().get("message").asText().contains("admins"), admin.body());
        boolean listed = false;
        for (JsonNode j : send("GET", "/v1/jobs?limit=500", otherBrowser.reads(), null).json().get("jobs")) {
            listed |= j.get("job_id").asText().equals(job.toString());
        }
        assertFalse(listed);
        f.call("POST", "/v1/jobs/" + job + "/cancel", owner, null);
    }

    @Test
    void aSessionCannotMakeNewCredentialsSoItNeverOutlivesItsUsersKeys() throws Exception {
        Browser b = login(owner, Map.of());
        for (String[] route : new String[][]{{"POST", "/v1/keys/rotate", "{}"}, {"POST", "/v1/ui/login-links", "{}"},
                {"POST", "/v1/ssh-keys", "{\"public_key\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ m\"}"}}) {
            Res r = send(route[0], route[1], b.changes(), route[2]);
            assertEquals(403, r.status(), route[1] + ": " + r.body());
            assertTrue(r.json().get("message").asText().contains("use the CLI"), r.body());
        }
        assertEquals(403, send("DELETE", "/v1/ssh-keys/1", b.changes(), null).status());
    }

    @Test
    void anAdminRevokingAUsersKeyEndsTheirDashboardSessions() throws Exception {
        String victim = f.newUser("dash-revoked");
        Browser b = login(victim, Map.of());
        assertEquals(200, send("GET", "/v1/jobs", b.reads(), null).status());
        long keyId = f.call("GET", "/v1/keys", victim, null).body().get("keys").get(0).get("key_id").asLong();
        assertEquals(204, f.call("DELETE", "/v1/keys/" + keyId, f.admin(), null).status());
        assertEquals(401, send("GET", "/v1/jobs", b.reads(), null).status(), "the stolen session dies with the key");
        Browser admins = login(f.admin(), Map.of());
        String spare = f.newUser("dash-spare");
        long spareKey = f.call("GET", "/v1/keys", spare, null).body().get("keys").get(0).get("key_id").asLong();
        assertEquals(204, send("DELETE", "/v1/keys/" + spareKey, admins.changes(), null).status(), "the admin page revokes");
        assertEquals(200, send("GET", "/v1/ui/session", admins.reads(), null).status(), "the admin's own session goes on");
    }

    @Test
    void revokingTheKeyThatMadeASessionEndsItWhateverElseTheUserHolds() throws Exception {
        String first = f.newUser("dash-own-revoke");
        long firstId = f.call("GET", "/v1/keys", first, null).body().get("keys").get(0).get("key_id").asLong();
        Browser b = login(first, Map.of());
        String second = f.call("POST", "/v1/keys/rotate", first, "{\"revoke_old\": false}").body().get("api_key").asText();
        assertEquals(200, send("GET", "/v1/jobs", b.reads(), null).status());
        assertEquals(204, f.call("DELETE", "/v1/keys/" + firstId, second, null).status(), "the user revokes the first key");
        assertEquals(401, send("GET", "/v1/jobs", b.reads(), null).status(), "the session ends with the key that made it");
        assertEquals(200, f.call("GET", "/v1/jobs", second, null).status(), "the user's other key goes on");
    }

    @Test
    void aNewLoginInTheSameBrowserEndsItsPreviousSession() throws Exception {
        Browser first = login(owner, Map.of());
        Res s = send("POST", "/v1/ui/session", Map.of("Content-Type", "application/json", "Cookie", first.cookie()),
                "{\"token\":\"" + linkToken(other) + "\"}");
        assertEquals(201, s.status(), s.body());
        assertEquals(401, send("GET", "/v1/jobs", first.reads(), null).status(), "the replaced session does not linger");
    }

    @Test
    void dotSegmentsInAPathAreABadRequestNeverAServerError() throws Exception {
        for (String path : List.of("/ui/assets/..", "/ui/assets/%2e%2e", "/ui/assets/.%2e/index.html", "/ui/assets/../index.html",
                "/docs/assets/%2E%2E/x", "/v1/jobs/./x")) {
            try (var socket = new java.net.Socket("127.0.0.1", Integer.parseInt(f.base.substring(f.base.lastIndexOf(':') + 1)))) {
                socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                String response = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                String statusLine = response.lines().findFirst().orElse("");
                assertTrue(statusLine.contains(" 400 "), path + " -> " + statusLine);
                assertTrue(response.contains("{\"error\""), path + ": " + response);
            }
        }
    }

    @Test
    void apiAnswersAreNeverKeptByACache() throws Exception {
        for (String path : List.of("/v1/jobs", "/v1/ui/session", "/v1/cluster/occupancy")) {
            var r = http.send(HttpRequest.newBuilder(URI.create(f.base + path)).header("Authorization", "Bearer " + owner).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals("no-store", r.headers().firstValue("Cache-Control").orElse(""), path);
        }
    }

    @Test
    void loggingOutEndsTheSessionOnTheServerNotOnlyInTheBrowser() throws Exception {
        Browser b = login(owner, Map.of());
        Res forged = send("POST", "/v1/ui/logout", Map.of("Cookie", b.cookie()), null);
        assertEquals(403, forged.status(), "no logout without the session's CSRF token: " + forged.body());
        assertEquals(200, send("GET", "/v1/jobs", b.reads(), null).status(), "the session goes on");
        Res out = send("POST", "/v1/ui/logout", Map.of("Cookie", b.cookie(), "X-CSRF-Token", b.csrf()), null);
        assertEquals(204, out.status());
        assertTrue(out.raw().headers().firstValue("Set-Cookie").orElseThrow().contains("Max-Age=0"));
        // The old cookie, replayed (as a thief would), no longer works.
        Res after = send("GET", "/v1/jobs", b.reads(), null);
        assertEquals(401, after.status());
        assertTrue(after.json().get("message").asText().contains("gpu-dev dashboard"), after.body());
    }

    @Test
    void aSessionEndsAfterTwoIdleHoursAndAtTwelveHoursWhateverItsUse() throws Exception {
        Browser idle = login(owner, Map.of());
        f.clock.advance(Duration.ofHours(2).plusMinutes(1));
        try {
            assertEquals(401, send("GET", "/v1/jobs", idle.reads(), null).status());
        } finally {
            f.clock.advance(Duration.ofHours(-2).minusMinutes(1));
        }
        Browser busy = login(owner, Map.of());
        Duration used = Duration.ZERO;
        try {
            for (int i = 0; i < 12; i++) { // used every hour: never idle
                f.clock.advance(Duration.ofMinutes(59));
                used = used.plusMinutes(59);
                assertEquals(200, send("GET", "/v1/jobs", busy.reads(), null).status(), "after " + used);
            }
            f.clock.advance(Duration.ofMinutes(13));
            used = used.plusMinutes(13);
            assertEquals(401, send("GET", "/v1/jobs", busy.reads(), null).status());
        } finally {
            f.clock.advance(used.negated());
        }
    }

    @Test
    void pagesAndAssetsComeWithAPolicyThatRunsOnlyTheServersOwnFiles() throws Exception {
        for (String path : List.of("/ui", "/ui/mine", "/ui/admin", "/ui/login", "/ui/assets/app.js", "/ui/assets/app.css",
                "/ui/assets/login.js")) {
            var r = http.send(HttpRequest.newBuilder(URI.create(f.base + path)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), path);
            String csp = r.headers().firstValue("Content-Security-Policy").orElse("");
            assertTrue(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"), path + ": " + csp);
            assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(""), path);
            assertFalse(r.body().matches("(?s).*(src|href)=\"(https?:)?//.*") || r.body().contains("url(http"),
                    path + " loads something from elsewhere");
        }
        String js = http.send(HttpRequest.newBuilder(URI.create(f.base + "/ui/assets/app.js")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertFalse(js.contains("innerHTML") || js.contains("localStorage") || js.contains("sessionStorage") || js.contains("eval("),
                "data is drawn as text, and nothing is kept in the browser's storage");
        var missing = http.send(HttpRequest.newBuilder(URI.create(f.base + "/ui/assets/nope.js")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, missing.statusCode());
    }

    @Test
    void occupancyShowsWhoHoldsEachGpuUntilWhenAndTheQueueInOrderWithIdsOnlyForTheirOwners() throws Exception {
        UUID held = f.activeReservation(owner, "holder", 4);
        var submitted = f.call("POST", "/v1/jobs/submit", other, "{\"gpu_type\":\"h100\",\"gpu_count\":8,\"duration_hours\":2,\"name\":\"big\"}");
        assertEquals(201, submitted.status(), submitted.raw());
        UUID waiting = UUID.fromString(submitted.body().get("job_id").asText());
        Instant eta = f.clock.instant().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);
        f.db.inTransaction(c -> {
            new Reservations().queue().setWaiting(c, List.of(new dev.gpudev.store.ReservationQueue.Waiting(waiting,
                    new Reservation.Queue(1, "waiting for 8 GPUs on one node", eta), "queued")));
            return null;
        });
        try {
            JsonNode asOther = f.call("GET", "/v1/cluster/occupancy", other, null).body();
            JsonNode h100 = asOther.get("gpu_types").get(0);
            assertEquals("h100", h100.get("gpu_type").asText());
            assertEquals(8, h100.get("total").asInt());
            JsonNode gpus = h100.get("nodes").get(0).get("gpus");
            assertEquals(8, gpus.size());
            int heldCells = 0;
            int holderCells = 0;
            for (JsonNode g : gpus) {
                if (!g.get("holder").isNull()) {
                    heldCells++;
                    assertTrue(g.get("holder").get("job_id").isNull(), "someone else's reservation id is not shown");
                    assertFalse(g.get("holder").get("mine").asBoolean());
                    if ("holder".equals(g.get("holder").get("name").asText())) {
                        holderCells++;
                        assertEquals("dash-owner", g.get("holder").get("user").asText());
                        assertNotNull(g.get("holder").get("expires_at").textValue());
                    }
                }
            }
            assertEquals(4, holderCells, "a backend that names no devices fills the node's GPUs in order");
            assertEquals(h100.get("in_use").asInt(), heldCells, "every GPU in use is a held cell");
            assertEquals(8 - heldCells, h100.get("available").asInt());
            JsonNode q = h100.get("queue").get(0);
            assertEquals(1, q.get("position").asInt());
            assertEquals("big", q.get("name").asText());
            assertEquals(8, q.get("gpu_count").asInt());
            assertEquals(eta, Instant.parse(q.get("estimated_start_at").asText()));
            assertEquals("waiting for 8 GPUs on one node", q.get("pending_reason").asText());
            assertEquals(waiting.toString(), q.get("job_id").asText(), "their own");
            assertTrue(q.get("mine").asBoolean());

            // Someone the owner added sees its id (as `list` shows it to them), marked shared, not theirs.
            String added = f.newUser("dash-added");
            f.db.inTransaction(c -> new dev.gpudev.store.ReservationUsers().add(c, held,
                    new dev.gpudev.store.Users().findByName(c, "dash-added").orElseThrow().userId(), 1L));
            boolean sharedSeen = false;
            for (JsonNode g : f.call("GET", "/v1/cluster/occupancy", added, null).body().get("gpu_types").get(0).get("nodes").get(0).get("gpus")) {
                if (!g.get("holder").isNull() && "holder".equals(g.get("holder").get("name").asText())) {
                    sharedSeen = true;
                    assertEquals(held.toString(), g.get("holder").get("job_id").asText());
                    assertTrue(g.get("holder").get("shared").asBoolean());
                    assertFalse(g.get("holder").get("mine").asBoolean(), "shared is not theirs: no actions");
                }
            }
            assertTrue(sharedSeen);

            JsonNode asOwner = f.call("GET", "/v1/cluster/occupancy", owner, null).body().get("gpu_types").get(0);
            boolean ownSeen = false;
            for (JsonNode g : asOwner.get("nodes").get(0).get("gpus")) {
                ownSeen |= !g.get("holder").isNull() && g.get("holder").get("job_id").asText().equals(held.toString());
            }
            assertTrue(ownSeen);
            assertTrue(asOwner.get("queue").get(0).get("job_id").isNull());
            // The same numbers as `avail`.
            JsonNode avail = f.call("GET", "/v1/gpu/availability", owner, null).body().get("gpu_types").get(0);
            for (String k : List.of("total", "in_use", "available", "queued", "queued_gpus")) {
                assertEquals(avail.get(k).asInt(), asOwner.get(k).asInt(), k);
            }
        } finally {
            f.call("POST", "/v1/jobs/" + held + "/cancel", owner, null);
            f.call("POST", "/v1/jobs/" + waiting + "/cancel", other, null);
        }
    }

    @Test
    void historyGivesTheLastDaysSamplesOldestFirst() throws Exception {
        Instant now = f.clock.instant().truncatedTo(ChronoUnit.MINUTES);
        f.db.inTransaction(c -> {
            new UsageSamples().record(c, List.of(
                    new UsageSamples.Sample(now.minus(Duration.ofHours(30)), "h100", 8, 1, 0, 0),
                    new UsageSamples.Sample(now.minus(Duration.ofHours(2)), "h100", 8, 4, 2, 6),
                    new UsageSamples.Sample(now.minus(Duration.ofHours(1)), "h100", 8, 8, 3, 9)), now.minus(Duration.ofDays(8)));
            return null;
        });
        JsonNode h = f.call("GET", "/v1/cluster/history", owner, null).body();
        JsonNode samples = h.get("samples");
        assertEquals(2, samples.size(), "only the last 24 hours: " + samples);
        assertEquals(4, samples.get(0).get("in_use").asInt());
        assertEquals(9, samples.get(1).get("queued_gpus").asInt());
        assertEquals(3, f.call("GET", "/v1/cluster/history?hours=48", owner, null).body().get("samples").size());
        assertEquals(400, f.call("GET", "/v1/cluster/history?hours=0", owner, null).status());
    }

    @Test
    void adminsSeeUsersLiveKeysAndInvitationsButNeverASecret() throws Exception {
        String admin = f.admin();
        f.call("POST", "/v1/admin/invites", admin, "{\"username\":\"not-yet\"}");
        JsonNode users = f.call("GET", "/v1/admin/users", admin, null).body().get("users");
        JsonNode ownerRow = null;
        for (JsonNode u : users) {
            if (u.get("username").asText().equals("dash-owner")) {
                ownerRow = u;
            }
        }
        assertNotNull(ownerRow);
        assertEquals("token", ownerRow.get("login").asText());
        assertTrue(ownerRow.get("live_keys").asInt() >= 1);
        var keys = f.call("GET", "/v1/admin/keys", admin, null);
        assertEquals(200, keys.status(), keys.raw());
        String raw = f.call("GET", "/v1/admin/keys", admin, null).raw() + f.call("GET", "/v1/admin/invites", admin, null).raw();
        assertFalse(raw.contains(owner) || raw.contains(other) || raw.contains(admin), "no key is ever shown");
        assertFalse(raw.contains("hash"), raw);
        JsonNode invites = f.call("GET", "/v1/admin/invites", admin, null).body().get("invites");
        assertEquals("not-yet", invites.get(0).get("username").asText());
        assertEquals("open", invites.get(0).get("state").asText());
        assertNull(invites.get(0).get("token"));
        assertEquals(403, f.call("GET", "/v1/admin/keys", owner, null).status());
    }
}
