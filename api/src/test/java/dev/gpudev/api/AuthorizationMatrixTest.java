package dev.gpudev.api;

import dev.gpudev.store.ReservationUsers;
import dev.gpudev.store.Users;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every route × every kind of caller: anonymous, the owner, another user, a user the owner added,
 * an admin, an expired key and a revoked key. The expected outcome of each cell is written down here.
 */
class AuthorizationMatrixTest {
    static ApiFixture f;
    static Map<String, String> keys;
    static UUID job;
    static long ownerSshKey;
    static long ownerApiKey;
    static long ownerDiskOperation;
    static long ownerHook;
    static java.util.UUID runJob;

    enum Expect { PUBLIC, OK, DENIED_401, DENIED_403, HIDDEN_404, BAD_LOGIN_TOKEN, BAD_LOGIN_LINK, BAD_REQUEST }

    static final List<String> ROLES = List.of("anonymous", "owner", "other", "added", "admin", "expired", "revoked");
    static final Set<String> PUBLIC = Set.of("GET /", "GET /health", "GET /openapi.json", "GET /docs", "GET /metrics",
            "POST /v1/auth/token-login", "POST /v1/auth/aws-login",
            "GET /ui", "GET /ui/mine", "GET /ui/admin", "GET /ui/usage", "GET /ui/login", "POST /v1/ui/logout");
    /** Routes about one reservation: the owner and admins act, added users only read (told so), others see nothing. */
    static final Set<String> RESERVATION_READ = Set.of("GET /v1/jobs/{id}");
    static final Set<String> RESERVATION_WRITE = Set.of("POST /v1/jobs/{id}/cancel", "POST /v1/jobs/{id}/extend", "POST /v1/jobs/{id}/duration",
            "POST /v1/jobs/{id}/users", "POST /v1/jobs/{id}/jupyter/enable", "POST /v1/jobs/{id}/jupyter/disable",
            // a batch run's output may hold secrets: its owner's and admins' (someone added connects and reads it there)
            "GET /v1/jobs/{id}/logs");
    static final Set<String> ADMIN_ONLY = Set.of("POST /v1/admin/invites", "GET /v1/audit", "GET /v1/admin/users", "GET /v1/admin/keys",
            "GET /v1/admin/invites", "POST /v1/admin/users/{name}/disable", "POST /v1/admin/users/{name}/enable",
            "POST /v1/admin/users/{name}/share", "POST /v1/admin/teams", "POST /v1/admin/teams/{name}", "DELETE /v1/admin/teams/{name}",
            "POST /v1/admin/teams/{name}/members", "DELETE /v1/admin/teams/{name}/members/{user}");
    /** Routes about something the owner has (an SSH key, an API key): others get 404, admins may revoke keys. */
    static final Set<String> OWNED_THING = Set.of("DELETE /v1/ssh-keys/{id}", "DELETE /v1/keys/{id}", "DELETE /v1/disks/{name}", "GET /v1/disks/{name}", "DELETE /v1/notifications/{id}",
            "POST /v1/disks/{name}/rename", "POST /v1/disks/{name}/list-content", "GET /v1/disk-operations/{id}");

    @BeforeAll
    static void setUp() throws Exception {
        f = new ApiFixture();
        String owner = f.newUser("owner");
        String other = f.newUser("other");
        String added = f.newUser("added");
        String admin = f.admin();
        String expired = f.newUser("expired");
        String revoked = f.newUser("revoked");
        f.newUser("bystander"); // whom admins disable and enable again
        f.call("POST", "/v1/keys/rotate", revoked, "{\"revoke_old\":true}");
        job = f.activeReservation(owner, "shared");
        runJob = java.util.UUID.fromString(f.call("POST", "/v1/jobs/submit", owner, "{\"gpu_type\":\"h100\",\"gpu_count\":1,"
                + "\"duration_hours\":1,\"run\":{\"command\":[\"true\"]}}").body().get("job_id").asText());
        f.db.inTransaction(c -> new ReservationUsers().add(c, runJob, new Users().findByName(c, "added").orElseThrow().userId(), 0L + 1));
        f.db.inTransaction(c -> new ReservationUsers().add(c, job, new Users().findByName(c, "added").orElseThrow().userId(), 0L + 1));
        ownerSshKey = f.call("POST", "/v1/ssh-keys", owner,
                "{\"public_key\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ o\"}").body().get("id").asLong();
        ownerApiKey = f.call("GET", "/v1/keys", owner, null).body().get("keys").get(0).get("key_id").asLong();
        f.call("POST", "/v1/disks", owner, "{\"name\":\"ownerdisk\"}");
        ownerDiskOperation = f.call("POST", "/v1/disks/ownerdisk/list-content", owner, null).body().get("operation_id").asLong();
        f.call("POST", "/v1/disks", admin, "{\"name\":\"admins-own\"}");
        ownerHook = f.call("POST", "/v1/notifications", owner, "{\"url\":\"https://hooks.example.test/owner\"}").body().get("id").asLong();
        f.call("POST", "/v1/admin/teams", admin, "{\"name\":\"crew\"}");
        f.call("POST", "/v1/admin/teams", admin, "{\"name\":\"doomed\"}");
        f.call("POST", "/v1/admin/teams/crew/members", admin, "{\"user\":\"bystander\"}");
        // The expired user's key: all others were made a moment ago and live 2 hours; move only this one into the past.
        f.db.inTransaction(c -> {
            try (var st = c.prepareStatement("update api_keys set expires_at = now() - interval '1 minute' where user_id = "
                    + "(select user_id from api_users where username = 'expired')")) {
                st.executeUpdate();
            }
            return null;
        });
        keys = Map.of("owner", owner, "other", other, "added", added, "admin", admin, "expired", expired, "revoked", revoked);
    }

    @AfterAll
    static void tearDown() {
        f.close();
    }

    static Expect expected(String route, String role) {
        if (route.equals("POST /v1/auth/token-login")) {
            return Expect.BAD_LOGIN_TOKEN; // whoever asks, a wrong token is refused the same way
        }
        if (route.equals("POST /v1/ui/session")) {
            return Expect.BAD_LOGIN_LINK; // whoever asks, a wrong login link is refused the same way
        }
        if (route.equals("POST /v1/auth/aws-login")) {
            return Expect.BAD_REQUEST; // whoever asks, a login without credentials is refused the same way
        }
        if (PUBLIC.contains(route)) {
            return Expect.PUBLIC;
        }
        return switch (role) {
            case "anonymous" -> Expect.DENIED_401;
            case "expired", "revoked" -> Expect.DENIED_403;
            case "admin" -> Expect.OK;
            case "owner" -> ADMIN_ONLY.contains(route) ? Expect.DENIED_403 : Expect.OK;
            // Someone added to a reservation sees it, and is told they may not change it (403, not a 404 that
            // contradicts `list`); someone else's keys and disks stay hidden from them.
            case "added" -> ADMIN_ONLY.contains(route) || RESERVATION_WRITE.contains(route) ? Expect.DENIED_403
                    : OWNED_THING.contains(route) ? Expect.HIDDEN_404 : Expect.OK;
            default -> ADMIN_ONLY.contains(route) ? Expect.DENIED_403
                    : RESERVATION_READ.contains(route) || RESERVATION_WRITE.contains(route) || OWNED_THING.contains(route)
                    ? Expect.HIDDEN_404 : Expect.OK;
        };
    }

    /** A build's context as the matrix sends it (not a real tar: the route stores bytes by their hash) and its hash. */
    static final String BUILD_BODY = "not really a tar: the route stores bytes by their hash";
    static final String BUILD_HASH = "sha256:" + dev.gpudev.core.Tokens.sha256Hex(BUILD_BODY);

    static String body(String route) {
        return switch (route) {
            case "PUT /v1/builds/{hash}" -> BUILD_BODY;
            case "POST /v1/auth/token-login", "POST /v1/ui/session" -> "{\"token\":\"nope\"}";
            case "POST /v1/admin/invites" -> "{\"username\":\"someone\"}";
            case "POST /v1/ssh-keys" -> "{\"public_key\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6BNb4k0Mb4j2O9b6hX6RrZCXv2FqKpWDrQT2pV4kYQ x\"}";
            case "POST /v1/jobs/submit" -> "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1}";
            case "POST /v1/jobs/{id}/extend" -> "{\"extension_hours\":1}";
            case "POST /v1/jobs/{id}/duration" -> "{\"duration_hours\":1}";
            case "POST /v1/jobs/{id}/users" -> "{\"username\":\"other\"}";
            case "POST /v1/keys/rotate" -> "{}";
            case "POST /v1/disks" -> "{\"name\":\"scratchpad\"}";
            case "POST /v1/disks/{name}/rename" -> "{\"new_name\":\"renamed\"}";
            case "POST /v1/admin/users/{name}/share" -> "{\"share\":1}";
            case "POST /v1/admin/teams" -> "{\"name\":\"fresh\"}";
            case "POST /v1/notifications" -> "{\"url\":\"https://hooks.example.test/matrix\"}";
            case "POST /v1/admin/teams/{name}" -> "{\"share\":2}";
            case "POST /v1/admin/teams/{name}/members" -> "{\"user\":\"bystander\"}";
            default -> null;
        };
    }

    static String path(String route, String role) {
        String path = route.substring(route.indexOf(' ') + 1);
        if (route.startsWith("DELETE /v1/ssh-keys")) {
            return path.replace("{id}", Long.toString(ownerSshKey));
        }
        if (route.startsWith("DELETE /v1/keys")) {
            return path.replace("{id}", Long.toString(ownerApiKey));
        }
        if (route.startsWith("POST /v1/admin/users/{name}/")) {
            return path.replace("{name}", "bystander");
        }
        if (route.startsWith("POST /v1/admin/users/{name}/")) {
            return path.replace("{name}", "bystander");
        }
        if (route.equals("DELETE /v1/notifications/{id}")) {
            return path.replace("{id}", Long.toString(ownerHook));
        }
        if (route.equals("DELETE /v1/admin/teams/{name}")) {
            return path.replace("{name}", "doomed");
        }
        if (route.startsWith("POST /v1/admin/teams/{name}") || route.startsWith("DELETE /v1/admin/teams/{name}/")) {
            return path.replace("{name}", "crew").replace("{user}", "bystander");
        }
        if (route.startsWith("DELETE /v1/disks")) {
            return path.replace("{name}", "ownerdisk");
        }
        if (route.startsWith("POST /v1/disks/{name}/") || route.equals("GET /v1/disks/{name}")) {
            // Disks are named per user: an admin acts on their own (no one else's is reachable by name).
            return path.replace("{name}", role.equals("admin") ? "admins-own" : "ownerdisk");
        }
        if (route.startsWith("GET /v1/disk-operations")) {
            return path.replace("{id}", Long.toString(ownerDiskOperation));
        }
        if (route.equals("GET /v1/jobs/{id}/logs")) {
            return path.replace("{id}", runJob.toString());
        }
        if (route.equals("PUT /v1/builds/{hash}")) {
            return path.replace("{hash}", BUILD_HASH);
        }
        return path.replace("{id}", job.toString());
    }

    @TestFactory
    List<DynamicTest> everyRouteForEveryCaller() {
        List<DynamicTest> tests = new ArrayList<>();
        List<String> routes = f.api.registeredRoutes().stream()
                // Destructive cells run last so they do not change the others' world.
                .sorted((a, b) -> Boolean.compare(a.startsWith("DELETE"), b.startsWith("DELETE"))).toList();
        for (String route : routes) {
            for (String role : ROLES) {
                if (route.startsWith("DELETE") && role.equals("owner")) {
                    continue; // the owner's own deletes are covered below, after the others
                }
                tests.add(DynamicTest.dynamicTest(route + " as " + role, () -> check(route, role)));
            }
        }
        // The owner revoking their own API key comes last of all: it ends their access.
        for (String route : routes.stream().filter(r -> r.startsWith("DELETE"))
                .sorted((a, b) -> Boolean.compare(a.startsWith("DELETE /v1/keys"), b.startsWith("DELETE /v1/keys"))).toList()) {
            tests.add(DynamicTest.dynamicTest(route + " as owner", () -> check(route, "owner")));
        }
        System.out.println("authorization matrix: " + tests.size() + " cells (" + routes.size() + " routes x " + ROLES.size() + " callers)");
        return tests;
    }

    static void check(String route, String role) throws Exception {
        String method = route.substring(0, route.indexOf(' '));
        String key = role.equals("anonymous") ? null : keys.get(role);
        if (role.equals("admin") && route.startsWith("DELETE")) {
            // An admin removing the owner's key would change the world of the cells that follow; remove a spare user's instead.
            String spare = f.newUser("spare-" + System.nanoTime() % 100000);
            if (route.equals("DELETE /v1/notifications/{id}")) { // an admin removes their own (another's is not theirs to see)
                long mine = f.call("POST", "/v1/notifications", key, "{\"url\":\"https://hooks.example.test/admin\"}").body().get("id").asLong();
                var r = f.call(method, "/v1/notifications/" + mine, key, null);
                assertEquals(200, r.status(), r.raw());
                return;
            }
            if (route.startsWith("DELETE /v1/admin/teams")) {
                var r = f.call(method, path(route, role), key, null);
                assertEquals(200, r.status(), r.raw());
                return;
            }
            if (route.startsWith("DELETE /v1/disks")) {
                // Disks are named per user: an admin deletes their own by name.
                f.call("POST", "/v1/disks", key, "{\"name\":\"admin-disk\"}");
                var r = f.call(method, "/v1/disks/admin-disk", key, null);
                assertEquals(202, r.status(), r.raw());
                return;
            }
            String id = route.startsWith("DELETE /v1/keys")
                    ? f.call("GET", "/v1/keys", spare, null).body().get("keys").get(0).get("key_id").asText()
                    : f.call("POST", "/v1/ssh-keys", spare, body("POST /v1/ssh-keys")).body().get("id").asText();
            var r = f.call(method, route.substring(route.indexOf(' ') + 1).replace("{id}", id), key, null);
            assertEquals(204, r.status(), r.raw());
            return;
        }
        var r = f.call(method, path(route, role), key, body(route));
        assertTrue(r.status() < 500, route + " as " + role + " -> " + r.status() + " " + r.raw());
        switch (expected(route, role)) {
            case PUBLIC -> assertTrue(r.status() != 401 && r.status() != 403, r.status() + " " + r.raw());
            case DENIED_401 -> assertEquals(401, r.status(), r.raw());
            case DENIED_403 -> assertEquals(403, r.status(), r.raw());
            case HIDDEN_404 -> assertEquals(404, r.status(), r.raw());
            case BAD_LOGIN_TOKEN -> assertTrue(r.status() == 401 && r.raw().contains("login token"), r.raw());
            case BAD_LOGIN_LINK -> assertTrue(r.status() == 401 && r.raw().contains("login link"), r.raw());
            case BAD_REQUEST -> assertEquals(400, r.status(), r.raw());
            case OK -> assertTrue(r.status() < 400 || r.status() == 409, route + " as " + role + " -> " + r.status() + " " + r.raw());
        }
        if (r.status() >= 400) {
            assertTrue(r.body() != null && r.body().hasNonNull("error") && r.body().hasNonNull("message"), r.raw());
        }
    }
}
