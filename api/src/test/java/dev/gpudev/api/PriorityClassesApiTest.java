package dev.gpudev.api;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Priority classes at submit: who may ask for which, what a job says, and a preempted one's extension. */
class PriorityClassesApiTest {
    static ApiFixture f;
    static String alice;

    @BeforeAll
    static void start() throws Exception {
        f = new ApiFixture();
        alice = f.newUser("alice");
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    static String body(String cls) {
        return "{\"gpu_type\":\"h100\",\"gpu_count\":1,\"duration_hours\":1" + (cls == null ? "" : ",\"priority_class\":\"" + cls + "\"") + "}";
    }

    @Test
    void anyoneMayBePreemptibleOnlyAdminsHigh() throws Exception {
        var cheap = f.call("POST", "/v1/jobs/submit", alice, body("preemptible"));
        assertEquals(201, cheap.status(), cheap.raw());
        assertEquals("preemptible", cheap.body().get("priority_class").asText());
        assertEquals("normal", f.call("POST", "/v1/jobs/submit", alice, body(null)).body().get("priority_class").asText());
        var high = f.call("POST", "/v1/jobs/submit", alice, body("high"));
        assertEquals(403, high.status());
        assertTrue(high.body().get("message").asText().contains("for admins"), high.raw());
        var bogus = f.call("POST", "/v1/jobs/submit", alice, body("urgent"));
        assertEquals(400, bogus.status());
        assertTrue(bogus.body().get("message").asText().contains("one of high, normal, preemptible"), bogus.raw());
        assertEquals(201, f.call("POST", "/v1/jobs/submit", f.admin(), body("high")).status());
    }

    @Test
    void adminsDefineClassesWithTheirOwnWhoMayAndCaps() throws Exception {
        dev.gpudev.core.PriorityClass.define(java.util.List.of(dev.gpudev.core.PriorityClass.parse("batch:boost=-6,usage=0.5,max-waiting=1"),
                dev.gpudev.core.PriorityClass.parse("urgent:boost=12,admin")));
        try {
            var first = f.call("POST", "/v1/jobs/submit", alice, body("batch"));
            assertEquals(201, first.status(), first.raw());
            assertEquals("batch", first.body().get("priority_class").asText());
            var second = f.call("POST", "/v1/jobs/submit", alice, body("batch"));
            assertEquals(429, second.status(), second.raw());
            assertTrue(second.body().get("message").asText().contains("1 batch reservations waiting"), second.raw());
            var urgent = f.call("POST", "/v1/jobs/submit", alice, body("urgent"));
            assertEquals(403, urgent.status());
            assertTrue(urgent.body().get("message").asText().contains("urgent is for admins"), urgent.raw());
            assertEquals(201, f.call("POST", "/v1/jobs/submit", f.admin(), body("urgent")).status());
        } finally {
            dev.gpudev.core.PriorityClass.define(java.util.List.of());
        }
    }

    @Test
    void aPreemptedReservationCannotBeExtendedAndSaysWhy() throws Exception {
        var id = f.activeReservation(alice, "soon-gone");
        f.db.inTransaction(c -> {
            try (var ps = c.prepareStatement("update reservations set priority_class = 'preemptible', preempted_at = now() where reservation_id = ?")) {
                ps.setObject(1, id);
                ps.executeUpdate();
            }
            return null;
        });
        var shown = f.call("GET", "/v1/jobs/" + id, alice, null);
        assertTrue(shown.body().hasNonNull("preempted_at"), shown.raw());
        var extend = f.call("POST", "/v1/jobs/" + id + "/extend", alice, "{\"extension_hours\":1}");
        assertTrue(extend.status() == 409 || extend.status() == 400, extend.raw());
        assertTrue(extend.body().get("message").asText().contains("was preempted"), extend.raw());
    }
}
