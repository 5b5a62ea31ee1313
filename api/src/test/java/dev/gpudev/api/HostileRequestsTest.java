package dev.gpudev.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gpudev.store.Json;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Malformed and hostile requests, generated from the fields the OpenAPI document names: wrong types,
 * huge and negative numbers, control characters, deep nesting, broken JSON, odd paths. The API must
 * answer each with a 4xx and {error, message} (or a success), never a 5xx, and never lose what is stored.
 */
class HostileRequestsTest {
    static ApiFixture f;
    static String key;
    static String job;
    static final AtomicInteger SENT = new AtomicInteger();
    static final JsonNodeFactory N = JsonNodeFactory.instance;

    @BeforeContainer
    static void start() throws Exception {
        f = new ApiFixture();
        key = f.newUser("fuzzer");
        job = f.activeReservation(key, "keep-me").toString();
        f.call("POST", "/v1/disks", key, "{\"name\":\"fuzzed\"}");
    }

    @AfterContainer
    static void stop() throws Exception {
        // What was stored before the storm is still there, unchanged in kind: in the database, and through the API
        // to the admin (the storm's own keys are not used to look: its rotations and DELETE /v1/keys/{junk} may
        // have ended any key of the fuzzer's).
        var stored = f.db.query(c -> new dev.gpudev.store.Reservations().find(c, java.util.UUID.fromString(job))).orElseThrow();
        assertTrue(stored.status() == dev.gpudev.core.ReservationStatus.ACTIVE, "the reservation is still active: " + stored.status());
        int disks = f.db.query(c -> {
            try (var ps = c.prepareStatement("select count(*) from disks d join api_users u on u.user_id = d.user_id"
                    + " where u.username = 'fuzzer' and d.name = 'fuzzed'")) {
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getInt(1);
                }
            }
        });
        assertTrue(disks == 1, "the disk is still there: " + disks);
        var r = f.call("GET", "/v1/jobs/" + job, f.admin(), null);
        assertTrue(r.status() == 200 && r.raw().contains("keep-me"), r.raw());
        System.out.println("hostile requests sent: " + SENT.get());
        f.close();
    }

    static List<String> fields() {
        List<String> names = new ArrayList<>();
        SchemaCheck.DOC.get("components").get("schemas").fields().forEachRemaining(e ->
                e.getValue().path("properties").fieldNames().forEachRemaining(names::add));
        return names;
    }

    @Provide
    Arbitrary<String> postRoutes() {
        List<String> routes = new ArrayList<>();
        SchemaCheck.DOC.get("paths").fields().forEachRemaining(e -> {
            if (e.getValue().has("post")) {
                routes.add(e.getKey());
            }
        });
        return Arbitraries.of(routes);
    }

    @Provide
    Arbitrary<JsonNode> values() {
        Arbitrary<JsonNode> scalars = Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(300).map(t -> (JsonNode) N.textNode(t)),
                Arbitraries.strings().withChars("\u0000\u001f\u202e\u00e9'\"\\<>%{}$;\n").ofMaxLength(40).map(t -> (JsonNode) N.textNode(t)),
                Arbitraries.integers().between(1_000, 70_000).map(n -> (JsonNode) N.textNode("x".repeat(n))),
                Arbitraries.longs().map(l -> (JsonNode) N.numberNode(l)),
                Arbitraries.of(new BigDecimal("1e308"), new BigDecimal("-1e308"), new BigDecimal("1e-300"), new BigDecimal("0.0000001"),
                        new BigDecimal("99999999999999999999999"), BigDecimal.ZERO, new BigDecimal("-0.5")).map(d -> (JsonNode) N.numberNode(d)),
                Arbitraries.of(true, false).map(b -> (JsonNode) N.booleanNode(b)),
                Arbitraries.just((JsonNode) N.nullNode()));
        return Arbitraries.oneOf(scalars, scalars.list().ofMaxSize(5).map(l -> {
            var a = N.arrayNode();
            l.forEach(a::add);
            return (JsonNode) a;
        }));
    }

    @Provide
    Arbitrary<String> bodies() {
        Arbitrary<String> field = Arbitraries.oneOf(Arbitraries.of(fields()), Arbitraries.strings().ofMaxLength(20));
        Arbitrary<String> objects = Arbitraries.maps(field, values()).ofMaxSize(8).map(m -> {
            ObjectNode o = N.objectNode();
            m.forEach(o::set);
            return Json.write(o);
        });
        Arbitrary<String> broken = Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(200),
                Arbitraries.of("{", "[", "\"", "{\"gpu_type\":", "null", "[]", "1", "{\"a\":1}}", "{\"gpu_count\":1e999999}",
                        "{\"duration_hours\":1e-999999999}", "{\"duration_hours\":1e999999999}", "{\"extension_hours\":1e-2147483648}",
                        "{\"x\":1e-2147483648}", "{\"username\":\"a\\u0000b\"}", "{\"name\\u0000\":1}", "{\"new_name\":\"..\"}",
                        "{\"name\":\"../../pgdata\"}", "{\"token\":\"\\u0000\"}"),
                Arbitraries.integers().between(20, 200).map(d -> "{\"a\":".repeat(d) + "1" + "}".repeat(d)),
                Arbitraries.integers().between(1, 3000).map(d -> "[".repeat(d) + "]".repeat(d)));
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, objects), net.jqwik.api.Tuple.of(2, broken));
    }

    @Property(tries = 400)
    void hostileBodiesNeverBreakTheApi(@ForAll("postRoutes") String route, @ForAll("bodies") String body) throws Exception {
        String path = route.replace("{id}", job).replace("{name}", "fuzzed");
        ApiFixture.Res r = f.call("POST", path, key, body);
        SENT.incrementAndGet();
        if (r.status() == 200 && r.body() != null && r.body().hasNonNull("api_key") && route.equals("/v1/keys/rotate")) {
            key = r.body().get("api_key").asText(); // a rotation may have revoked the key in use: carry on with the new one
        }
        // 503 is the one honest 5xx: AWS login when STS cannot be reached (here it never can).
        boolean stsDown = route.equals("/v1/auth/aws-login") && r.status() == 503 && r.raw().contains("sts_unavailable");
        assertTrue(r.status() < 500 || stsDown, route + " <- " + abbreviate(body) + " -> " + r.status() + " " + r.raw());
        if (r.status() >= 400) {
            assertNotNull(r.body(), r.raw());
            assertTrue(r.body().hasNonNull("error") && r.body().hasNonNull("message"), r.raw());
        }
    }

    @Property(tries = 200)
    void hostilePathsAndQueriesNeverBreakTheApi(@ForAll("pathJunk") String junk, @ForAll("queryJunk") String query) throws Exception {
        for (String path : List.of("/v1/jobs/" + junk, "/v1/jobs?" + query, "/v1/audit?" + query, "/v1/ssh-keys/" + junk, "/v1/keys/" + junk)) {
            ApiFixture.Res r = f.call(path.startsWith("/v1/ssh-keys") || path.startsWith("/v1/keys") ? "DELETE" : "GET", path, key, null);
            SENT.incrementAndGet();
            assertTrue(r.status() < 500, path + " -> " + r.status() + " " + r.raw());
        }
    }

    @Provide
    Arbitrary<String> pathJunk() {
        return Arbitraries.oneOf(
                Arbitraries.strings().ofMinLength(1).ofMaxLength(120)
                        .map(t -> java.net.URLEncoder.encode(t, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20")),
                Arbitraries.of("..", "%2e%2e", "%00", "00000000-0000-0000-0000-000000000000", "-1", "99999999999999999999", "a".repeat(500)));
    }

    @Provide
    Arbitrary<String> queryJunk() {
        Arbitrary<String> values = Arbitraries.oneOf(Arbitraries.strings().ofMaxLength(40)
                        .map(t -> java.net.URLEncoder.encode(t, java.nio.charset.StandardCharsets.UTF_8)),
                Arbitraries.of("-1", "0", "501", "1e9", "queued,,active", "%00", "2026-13-45T99:99:99Z", "-999999999-01-01T00:00:00Z",
                        "%2B999999999-12-31T23:59:59Z", "a%00b"));
        return Arbitraries.maps(Arbitraries.of("limit", "offset", "status", "since", "username", "action", "all_users", "x"), values)
                .ofMaxSize(4).map(m -> {
                    StringBuilder sb = new StringBuilder();
                    m.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : "&").append(k).append('=').append(v));
                    return sb.toString();
                });
    }

    static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "…(" + s.length() + ")" : s;
    }
}
